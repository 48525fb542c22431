#include "util/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace dmq::util {

struct metrics::series {
  std::string labels;  // a="b",c="d": no braces
  std::uint64_t count = 0;
  histogram h;
  std::function<double()> read;
};

struct metrics::family {
  std::string name, help, type;
  std::vector<std::unique_ptr<series>> all;
};

namespace {

std::string render(const label_set& labels) {
  std::string out;
  for (const auto& [k, v] : labels) {
    if (!out.empty()) out += ',';
    out.append(k).append("=\"");
    for (char c : v) {
      if (c == '\\' || c == '"') {
        out += '\\';
        out += c;
      } else if (c == '\n') {
        out += "\\n";
      } else {
        out += c;
      }
    }
    out += '"';
  }
  return out;
}

void append_number(std::string& out, double v) {
  if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  if (std::isnan(v)) {
    out += "NaN";
    return;
  }
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

// count_text writes a count as an integer (1000000, not 1e+06).
std::string count_text(std::uint64_t n) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  return std::string(buf, end);
}

std::string number_text(double v) {
  std::string s;
  append_number(s, v);
  return s;
}

// sample appends one line: name{labels,extra} value.
void sample(std::string& out, std::string_view name, std::string_view suffix,
            const std::string& labels, std::string_view extra, std::string_view v) {
  out.append(name).append(suffix);
  if (!labels.empty() || !extra.empty()) {
    out += '{';
    out += labels;
    if (!labels.empty() && !extra.empty()) out += ',';
    out += extra;
    out += '}';
  }
  out += ' ';
  out += v;
  out += '\n';
}

}  // namespace

void histogram::observe(double v) {
  auto i = std::lower_bound(bounds.begin(), bounds.end(), v) - bounds.begin();
  ++buckets[static_cast<std::size_t>(i)];
  sum += v;
  ++count;
}

metrics::metrics() = default;
metrics::~metrics() = default;

metrics::series& metrics::find(std::string_view name, std::string_view help, std::string_view type,
                               const label_set& labels) {
  auto f = std::find_if(families_.begin(), families_.end(),
                        [&](const auto& x) { return x->name == name; });
  if (f == families_.end()) {
    families_.push_back(std::make_unique<family>(
        family{std::string(name), std::string(help), std::string(type), {}}));
    f = families_.end() - 1;
  }
  auto key = render(labels);
  auto& all = (*f)->all;
  auto s = std::find_if(all.begin(), all.end(), [&](const auto& x) { return x->labels == key; });
  if (s != all.end()) return **s;
  all.push_back(std::make_unique<series>());
  all.back()->labels = std::move(key);
  return *all.back();
}

std::uint64_t& metrics::counter(std::string_view name, std::string_view help,
                                const label_set& labels) {
  return find(name, help, "counter", labels).count;
}

histogram& metrics::histo(std::string_view name, std::string_view help,
                          std::span<const double> bounds, const label_set& labels) {
  auto& s = find(name, help, "histogram", labels);
  if (s.h.buckets.empty()) {
    s.h.bounds.assign(bounds.begin(), bounds.end());
    s.h.buckets.assign(bounds.size() + 1, 0);
  }
  return s.h;
}

void metrics::gauge(std::string_view name, std::string_view help, const label_set& labels,
                    std::function<double()> read) {
  find(name, help, "gauge", labels).read = std::move(read);
}

void metrics::write(std::string& out) const {
  for (const auto& f : families_) {
    out.append("# HELP ").append(f->name).append(" ").append(f->help).append("\n");
    out.append("# TYPE ").append(f->name).append(" ").append(f->type).append("\n");
    for (const auto& s : f->all) {
      if (f->type == "counter") {
        sample(out, f->name, "", s->labels, "", count_text(s->count));
      } else if (f->type == "gauge") {
        sample(out, f->name, "", s->labels, "", number_text(s->read ? s->read() : 0));
      } else {
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i < s->h.buckets.size(); ++i) {
          cumulative += s->h.buckets[i];
          std::string le = "le=\"";
          if (i < s->h.bounds.size())
            append_number(le, s->h.bounds[i]);
          else
            le += "+Inf";
          le += '"';
          sample(out, f->name, "_bucket", s->labels, le, count_text(cumulative));
        }
        sample(out, f->name, "_sum", s->labels, "", number_text(s->h.sum));
        sample(out, f->name, "_count", s->labels, "", count_text(s->h.count));
      }
    }
  }
}

}  // namespace dmq::util
