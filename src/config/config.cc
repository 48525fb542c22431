#include "config/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <climits>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <utility>

#include "config/spelling.h"

namespace dmq::config {

namespace fs = std::filesystem;

namespace {

// reader: the file being read, and where its problems and notes go.
struct reader {
  std::string file;  // relative to CONFIG_DIR, for messages
  fs::path dir;      // CONFIG_DIR, absolute
  std::vector<problem>* problems;
  std::vector<std::string>* notes;

  void fail(std::string key, std::string reason) const {
    problems->push_back({file, std::move(key), std::move(reason)});
  }
  void note(const std::string& text) const { notes->push_back(file + ": " + text); }
};

// join returns key under prefix as a dotted path ("redis" + "port" = "redis.port").
std::string join(std::string_view prefix, std::string_view key) {
  if (prefix.empty()) return std::string(key);
  return std::string(prefix) + "." + std::string(key);
}

// indexed returns "key[i]".
std::string indexed(std::string_view key, std::size_t i) {
  return std::string(key) + "[" + std::to_string(i) + "]";
}

// property: one key of a map in a configuration file, declared once: the loader applies it
// and reference() documents it. T is what the map fills (settings, producer, command, consumer).
template <class T>
struct property {
  property(std::string_view k, std::string_view t, std::string_view o, std::string_view d,
           bool req = false)
      : key(k), type(t), origin(o), description(d), required(req) {}

  std::string_view key;  // dotted under sections: "redis.port"
  std::string_view type;
  std::string_view origin;  // "seed": the original dmq's key; "dmq": dmq's own
  std::string_view description;
  bool required = false;  // required keys also see null values, to refuse them
  // apply validates value and stores it in target; shown is the key as reported.
  std::function<void(const reader&, const YAML::Node& value, const std::string& shown, T&)> apply;
  // show returns the value held in target as text (the default, when target is the default).
  std::function<std::string(const T&)> show;
};

// ignored_key: a seed key dmq reads past on purpose, and why.
struct ignored_key {
  std::string_view key;
  std::string_view reason;
};

// table: the keys of one kind of map, and the seed keys it reads past.
template <class T>
struct table {
  std::vector<property<T>> props;
  std::vector<ignored_key> ignored = {};
};

// ---- scalar readers: each reports its own problem and returns nullopt on failure ----

// read_integer reads an integer within min..max (limit_max: max is only the type's limit).
std::optional<long long> read_integer(const reader& r, const YAML::Node& n, const std::string& key,
                                      long long min, long long max, bool limit_max) {
  long long v = 0;
  if (!n.IsScalar() || !YAML::convert<long long>::decode(n, v)) {
    r.fail(key, "must be an integer");
    return std::nullopt;
  }
  if (v >= min && v <= max) return v;
  if (!limit_max)
    r.fail(key, "must be " + std::to_string(min) + ".." + std::to_string(max));
  else if (v < min)
    r.fail(key, "must be >= " + std::to_string(min));
  else
    r.fail(key, "must be <= " + std::to_string(max));
  return std::nullopt;
}

// read_bool reads true/false (also yes/no, on/off) or, as the seed wrote it, 1/0.
std::optional<bool> read_bool(const reader& r, const YAML::Node& n, const std::string& key) {
  bool v = false;
  if (n.IsScalar() && (n.Scalar() == "0" || n.Scalar() == "1")) return n.Scalar() == "1";
  if (n.IsScalar() && YAML::convert<bool>::decode(n, v)) return v;
  r.fail(key, "must be true or false (or 1 or 0)");
  return std::nullopt;
}

// read_string reads a scalar as text; null reads as "".
std::optional<std::string> read_string(const reader& r, const YAML::Node& n,
                                       const std::string& key) {
  if (n.IsNull()) return std::string();
  if (n.IsScalar()) return n.Scalar();
  r.fail(key, "must be a string");
  return std::nullopt;
}

// read_list checks that n is a list (null reads as an empty one).
bool read_list(const reader& r, const YAML::Node& n, const std::string& key) {
  if (n.IsNull() || n.IsSequence()) return true;
  r.fail(key, "must be a list");
  return false;
}

// ---- property factories ----

constexpr long long no_max = LLONG_MAX;

// number declares an integer key; the file holds value, the field value * scale (s -> ms).
template <class T, class Get>
property<T> number(std::string_view key, std::string_view type, std::string_view origin, Get get,
                   long long min, long long max, std::string_view description,
                   long long scale = 1) {
  using field = std::remove_cvref_t<decltype(get(std::declval<T&>()))>;
  constexpr auto field_max = std::numeric_limits<field>::max();
  long long type_max = std::cmp_greater(field_max, LLONG_MAX) ? LLONG_MAX : field_max;
  bool limit_max = max >= type_max / scale;
  max = std::min(max, type_max / scale);
  property<T> p(key, type, origin, description);
  p.apply = [=](const reader& r, const YAML::Node& n, const std::string& shown, T& t) {
    if (auto v = read_integer(r, n, shown, min, max, limit_max))
      get(t) = static_cast<field>(*v * scale);
  };
  p.show = [=](const T& t) { return std::to_string(static_cast<long long>(get(t)) / scale); };
  return p;
}

// flag declares a boolean key.
template <class T, class Get>
property<T> flag(std::string_view key, std::string_view origin, Get get,
                 std::string_view description) {
  property<T> p(key, "bool", origin, description);
  p.apply = [=](const reader& r, const YAML::Node& n, const std::string& shown, T& t) {
    if (auto v = read_bool(r, n, shown)) get(t) = *v;
  };
  p.show = [=](const T& t) { return std::string(get(t) ? "true" : "false"); };
  return p;
}

using check_fn = std::function<std::string(const std::string&)>;  // "" or the reason

// text declares a string key; check refuses bad values; required keys refuse empty ones.
template <class T, class Get>
property<T> text(std::string_view key, std::string_view origin, Get get, bool required,
                 std::string_view description, const check_fn& check = {}) {
  property<T> p(key, "string", origin, description, required);
  p.apply = [=](const reader& r, const YAML::Node& n, const std::string& shown, T& t) {
    auto v = read_string(r, n, shown);
    if (!v) return;
    if (required && v->empty()) return r.fail(shown, "must not be empty");
    if (auto why = check ? check(*v) : std::string(); !why.empty()) return r.fail(shown, why);
    get(t) = *v;
  };
  p.show = [=](const T& t) {
    const std::string& v = get(t);
    return required ? std::string("(required)") : v.empty() ? std::string("\"\"") : v;
  };
  return p;
}

// choice declares a string key limited to values (the description lists them).
template <class T, class Get>
property<T> choice(std::string_view key, Get get, const std::vector<std::string>& values,
                   std::string_view description) {
  auto p = text<T>(key, "dmq", get, false, description, [values](const std::string& v) {
    if (std::find(values.begin(), values.end(), v) != values.end()) return std::string();
    std::string all;
    for (const auto& x : values) all += (all.empty() ? "" : ", ") + x;
    return "must be one of " + all;
  });
  p.type = "enum";
  return p;
}

// location declares a path key, relative to CONFIG_DIR unless absolute (load makes it absolute).
template <class T, class Get>
property<T> location(std::string_view key, Get get, bool allow_empty,
                     std::string_view description) {
  property<T> p(key, "path", "dmq", description);
  p.apply = [=](const reader& r, const YAML::Node& n, const std::string& shown, T& t) {
    auto v = read_string(r, n, shown);
    if (!v) return;
    if (!allow_empty && v->empty()) return r.fail(shown, "must not be empty");
    get(t) = fs::path(*v);
  };
  p.show = [=](const T& t) {
    auto v = get(t).string();
    return v.empty() ? std::string("\"\"") : v;
  };
  return p;
}

// item_list declares a list of strings, each turned into an item by parse (the item, or
// the reason it is refused, reported under "key[i]"); show prints the list for reference().
template <class T, class Get, class Parse, class Show>
property<T> item_list(std::string_view key, std::string_view type, std::string_view origin, Get get,
                      std::string_view description, Parse parse, Show show) {
  property<T> p(key, type, origin, description);
  p.apply = [=](const reader& r, const YAML::Node& n, const std::string& shown, T& t) {
    if (!read_list(r, n, shown)) return;
    auto& out = get(t);
    out.clear();
    for (std::size_t i = 0; i < n.size(); ++i) {
      auto key = indexed(shown, i);
      auto v = read_string(r, n[i], key);
      if (!v) continue;
      auto item = parse(r, *v);  // a variant: the item, or (index 1) why it is refused
      if (item.index() == 1)
        r.fail(key, std::get<1>(item));
      else
        out.push_back(std::move(std::get<0>(item)));
    }
  };
  p.show = [=](const T& t) { return show(get(t)); };
  return p;
}

// hidden shows a list of secrets without them.
template <class List>
std::string hidden(const List& l) {
  return l.empty() ? "[]" : "[...]";
}

// ip_list declares a list of addresses or CIDR ranges.
template <class T, class Get>
property<T> ip_list(std::string_view key, std::string_view origin, Get get,
                    std::string_view description) {
  return item_list<T>(
      key, "list of IP/CIDR", origin, get, description,
      [](const reader&, const std::string& v) -> std::variant<util::ip_range, std::string> {
        if (auto range = util::ip_range::parse(v)) return std::move(*range);
        return "not an IP address or CIDR range: '" + v + "'";
      },
      [](const std::vector<util::ip_range>& l) {
        std::string out;
        for (const auto& r : l) out += (out.empty() ? "" : ", ") + r.text;
        return "[" + out + "]";
      });
}

// token_list declares a list of bearer tokens: sha256:<hex>, env:VAR or file:PATH each.
template <class T, class Get>
property<T> token_list(std::string_view key, Get get, std::string_view description) {
  return item_list<T>(
      key, "list of tokens", "dmq", get, description,
      [](const reader& r, const std::string& v) -> std::variant<token, std::string> {
        auto tok = read_token(v, r.dir);
        if (auto* e = std::get_if<secret_error>(&tok)) return e->reason;
        return std::move(std::get<token>(tok));
      },
      hidden<std::vector<token>>);
}

// signing_list declares Standard Webhooks secrets: whsec_<base64> each, or env:VAR or
// file:PATH holding one; the field holds the decoded keys.
template <class T, class Get>
property<T> signing_list(std::string_view key, Get get, std::string_view description) {
  using result = std::variant<std::string, std::string>;  // the key's bytes, or why not
  return item_list<T>(
      key, "list of secrets", "dmq", get, description,
      [](const reader& r, const std::string& v) -> result {
        auto s = read_secret(v, r.dir);
        if (auto* e = std::get_if<secret_error>(&s))
          return result(std::in_place_index<1>, e->reason);
        const auto& text = std::get<std::string>(s);
        auto bytes = text.starts_with("whsec_") ? util::from_base64(text.substr(6)) : std::nullopt;
        if (!bytes || bytes->size() < 24 || bytes->size() > 64)
          return result(std::in_place_index<1>,
                        "must be whsec_ followed by the base64 of 24 to 64 random bytes");
        return result(std::in_place_index<0>, std::move(*bytes));
      },
      hidden<std::vector<std::string>>);
}

// secret_text declares a string key that may name where its secret is (env:VAR, file:PATH);
// the field holds the secret itself.
template <class T, class Get>
property<T> secret_text(std::string_view key, std::string_view origin, Get get,
                        std::string_view description) {
  property<T> p(key, "secret", origin, description);
  p.apply = [=](const reader& r, const YAML::Node& n, const std::string& shown, T& t) {
    auto v = read_string(r, n, shown);
    if (!v) return;
    if (v->empty()) return void(get(t).clear());
    auto s = read_secret(*v, r.dir);
    if (auto* e = std::get_if<secret_error>(&s)) return r.fail(shown, e->reason);
    get(t) = std::move(std::get<std::string>(s));
  };
  p.show = [](const T&) { return std::string("\"\""); };
  return p;
}

// custom declares a key whose reading is written out by hand (the lists of maps).
template <class T>
property<T> custom(std::string_view key, std::string_view type, std::string_view origin,
                   std::string_view shown_default, bool required, std::string_view description,
                   decltype(property<T>::apply) apply) {
  property<T> p(key, type, origin, description, required);
  p.apply = std::move(apply);
  p.show = [shown_default](const T&) { return std::string(shown_default); };
  return p;
}

// ---- checks of string values ----

// check_ip refuses what the HTTP server could not bind (it does no name lookup).
std::string check_ip(const std::string& v) {
  return util::parse_ip(v) ? "" : "must be an IP address, e.g. 0.0.0.0 or ::";
}

// check_token refuses a header name that HTTP would not accept.
std::string check_token(const std::string& v) {
  static const std::string_view extra = "!#$%&'*+-.^_`|~";
  if (v.empty()) return "must not be empty";
  for (unsigned char c : v)
    if (!std::isalnum(c) && extra.find(static_cast<char>(c)) == std::string_view::npos)
      return "must be a valid HTTP header name";
  return "";
}

// check_key_prefix refuses what would break key names or Redis Cluster hash tags.
std::string check_key_prefix(const std::string& v) {
  if (v.empty()) return "must not be empty";
  for (unsigned char c : v)
    if (c == '{' || c == '}' || c == ':' || std::isspace(c) || std::iscntrl(c))
      return "must not contain '{', '}', ':' or spaces";
  return "";
}

// check_url_path refuses a consumer path that would glue onto the host.
std::string check_url_path(const std::string& v) {
  return v.starts_with("/") ? "" : "must start with '/'";
}

// ---- walking a map against a table ----

// find_property returns the property declared as key, or nullptr.
template <class T>
const property<T>* find_property(const table<T>& t, std::string_view key) {
  for (const auto& p : t.props)
    if (p.key == key) return &p;
  return nullptr;
}

// find_ignored returns the ignored seed key key, or nullptr.
template <class T>
const ignored_key* find_ignored(const table<T>& t, std::string_view key) {
  for (const auto& i : t.ignored)
    if (i.key == key) return &i;
  return nullptr;
}

// is_section says whether key is a map holding keys of t ("redis" holds "redis.port").
template <class T>
bool is_section(const table<T>& t, std::string_view key) {
  auto prefix = std::string(key) + ".";
  for (const auto& p : t.props)
    if (p.key.starts_with(prefix)) return true;
  for (const auto& i : t.ignored)
    if (i.key.starts_with(prefix)) return true;
  return false;
}

template <class T>
void walk_map(const reader& r, const YAML::Node& map, const std::string& item,
              const std::string& section, const table<T>& t, T& target,
              std::set<std::string>& seen);

// unknown_key_reason says that rel is not a key of t, and which key it may be a typo of:
// a typo must not silently leave a setting at its default (retry_time for retry_times).
template <class T>
std::string unknown_key_reason(const table<T>& t, const std::string& item, const std::string& rel) {
  std::vector<std::string_view> known;
  for (const auto& p : t.props) known.push_back(p.key);
  for (const auto& i : t.ignored) known.push_back(i.key);
  for (std::size_t i = 0, n = known.size(); i < n; ++i)  // sections: "redis" for "redis.port"
    if (auto dot = known[i].find('.'); dot != std::string_view::npos)
      known.push_back(known[i].substr(0, dot));
  auto near = nearest_key(rel, known);
  if (!near) return "unknown key";
  return "unknown key (did you mean '" + join(item, *near) + "'?)";
}

// walk_entry applies one key: a property, an ignored seed key, a section, or an unknown key.
template <class T>
void walk_entry(const reader& r, const std::string& name, const YAML::Node& value,
                const std::string& item, const std::string& section, const table<T>& t, T& target,
                std::set<std::string>& seen) {
  auto rel = join(section, name);
  auto shown = join(item, rel);
  if (!seen.insert(rel).second) return r.fail(shown, "appears twice");
  if (const auto* p = find_property(t, rel)) {
    if (!value.IsNull() || p->required) p->apply(r, value, shown, target);
  } else if (const auto* i = find_ignored(t, rel)) {
    r.note(shown + " is ignored: " + std::string(i->reason));
  } else if (is_section(t, rel)) {
    if (value.IsMap())
      walk_map(r, value, item, rel, t, target, seen);
    else if (!value.IsNull())
      r.fail(shown, "must be a map");
  } else {
    r.fail(shown, unknown_key_reason(t, item, rel));
  }
}

// walk_map applies every key of map; item prefixes reported keys ("product_list[1]").
template <class T>
void walk_map(const reader& r, const YAML::Node& map, const std::string& item,
              const std::string& section, const table<T>& t, T& target,
              std::set<std::string>& seen) {
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (!it->first.IsScalar()) {
      r.fail(join(item, section), "keys must be strings");
      continue;
    }
    walk_entry(r, it->first.Scalar(), it->second, item, section, t, target, seen);
  }
}

// read_map fills target from map (null reads as empty) and reports required keys left out.
template <class T>
void read_map(const reader& r, const YAML::Node& map, const std::string& item, const table<T>& t,
              T& target) {
  if (!map.IsNull() && !map.IsMap()) return r.fail(item, "must be a map");
  std::set<std::string> seen;
  if (map.IsMap()) walk_map(r, map, item, "", t, target, seen);
  for (const auto& p : t.props)
    if (p.required && !seen.count(std::string(p.key))) r.fail(join(item, p.key), "is required");
}

// read_items reads a list of maps, one Item per entry even when it is malformed, so that
// positions stay those of the file.
template <class Item>
void read_items(const reader& r, const YAML::Node& list, const std::string& shown,
                const table<Item>& t, std::vector<Item>& out) {
  out.clear();
  if (!read_list(r, list, shown)) return;
  for (std::size_t i = 0; i < list.size(); ++i) {
    out.emplace_back();
    read_map(r, list[i], indexed(shown, i), t, out.back());
  }
}

// ---- the tables ----

// consumer_table declares the keys of a consumer_list entry.
const table<consumer>& consumer_table() {
  static const table<consumer> t{{
      text<consumer>(
          "name", "seed", [](auto& c) -> auto& { return c.name; }, true,
          "Consumer name, unique across all command files; status, detail, pending "
          "and solved name it."),
      text<consumer>(
          "host", "seed", [](auto& c) -> auto& { return c.host; }, true,
          "host:port of the consumer; http:// is added unless it carries http:// or "
          "https://."),
      text<consumer>(
          "path", "seed", [](auto& c) -> auto& { return c.path; }, true,
          "Path (and query) the message is POSTed to; msg_id and retry are added to "
          "the query.",
          check_url_path),
      number<consumer>(
          "timeout", "integer, ms", "seed", [](auto& c) -> auto& { return c.timeout_ms; }, 1,
          no_max, "A delivery succeeds on HTTP 200 within this many ms."),
      number<consumer>(
          "retry_times", "integer", "seed", [](auto& c) -> auto& { return c.retry_times; }, 0,
          no_max,
          "Retries after a failed first try; then the id goes to the consumer's "
          "pending list."),
      number<consumer>(
          "interval", "integer, ms", "seed", [](auto& c) -> auto& { return c.interval_ms; }, 0,
          no_max, "Retry n (1..retry_times) starts interval * n ms after the failure."),
      number<consumer>(
          "concurrency", "integer", "dmq", [](auto& c) -> auto& { return c.concurrency; }, 1,
          100000, "Deliveries in flight to this consumer at once, per dispatcher process."),
      number<consumer>(
          "rate_per_sec", "integer", "dmq", [](auto& c) -> auto& { return c.rate_per_sec; }, 0,
          no_max, "Delivery attempts started per second, per dispatcher process; 0: no limit."),
      flag<consumer>(
          "rate_shared", "dmq", [](auto& c) -> auto& { return c.rate_shared; },
          "true: rate_per_sec is the limit of all dispatchers together, counted in Redis."),
      choice<consumer>(
          "backoff", [](auto& c) -> auto& { return c.backoff; }, {"linear", "exponential"},
          "linear: retry n waits interval * n ms (the seed); exponential: interval * 2^(n-1), "
          "at most backoff_cap_ms."),
      number<consumer>(
          "backoff_cap_ms", "integer, ms", "dmq", [](auto& c) -> auto& { return c.backoff_cap_ms; },
          1, no_max, "exponential: the longest wait between two attempts."),
      flag<consumer>(
          "jitter", "dmq", [](auto& c) -> auto& { return c.jitter; },
          "exponential: wait a random 50-100% of each step, so retries spread out."),
      location<consumer>(
          "ca_file", [](auto& c) -> auto& { return c.ca_file; }, true,
          "https: PEM file of the CAs to trust, relative to CONFIG_DIR; empty: the system's."),
      flag<consumer>(
          "tls_verify", "dmq", [](auto& c) -> auto& { return c.tls_verify; },
          "https: verify the consumer's certificate and host name (false only for tests)."),
      signing_list<consumer>(
          "signing_secrets", [](auto& c) -> auto& { return c.signing_secrets; },
          "Standard Webhooks secrets (whsec_<base64>, or env:VAR / file:PATH holding one): "
          "every delivery carries webhook-id, webhook-timestamp and a webhook-signature "
          "entry per secret, so a secret rotates without downtime. docs/security.md."),
  }};
  return t;
}

// command_table declares the keys of a command file.
const table<command>& command_table() {
  static const table<command> t{{
      text<command>(
          "project", "seed", [](auto& c) -> auto& { return c.project; }, true,
          "Project the command belongs to; it must be in product_list. A message of "
          "another project is refused."),
      text<command>(
          "command", "seed", [](auto& c) -> auto& { return c.cmd; }, true,
          "The cmd string producers send, e.g. sds:create:order; unique across all "
          "command files."),
      flag<command>(
          "ordered", "dmq", [](auto& c) -> auto& { return c.ordered; },
          "true: per consumer, messages of one bucket are delivered one at a time in "
          "(due time, id) order; the next waits until the previous is done or finally "
          "failed."),
      custom<command>(
          "consumer_list", "list of consumers", "seed", "(required)", true,
          "Where messages of this command are delivered, each to every consumer; at "
          "least one.",
          [](const reader& r, const YAML::Node& n, const std::string& shown, command& c) {
            read_items(r, n, shown, consumer_table(), c.consumers);
            if (n.IsNull() || (n.IsSequence() && n.size() == 0))
              r.fail(shown, "must list at least one consumer");
          }),
  }};
  return t;
}

// producer_table declares the keys of a product_list entry.
const table<producer>& producer_table() {
  static const table<producer> t{{
      text<producer>(
          "project", "seed", [](auto& p) -> auto& { return p.project; }, true,
          "Project name producers send in the project field; unique."),
      ip_list<producer>(
          "allow_ip", "seed", [](auto& p) -> auto& { return p.allow_ip; },
          "Addresses the project may send from: exact IPs (as in the seed) or "
          "CIDR ranges such as 10.0.0.0/8. Empty: nobody (unless tokens are set: then "
          "any address with a token). docs/security.md."),
      token_list<producer>(
          "tokens", [](auto& p) -> auto& { return p.tokens; },
          "Bearer tokens of the project (Authorization: Bearer TOKEN), each as sha256:<hex> "
          "(dmq token prints one), env:VAR or file:PATH. Set: every request of the project "
          "needs one (and an allowed address too, if allow_ip is set)."),
      number<producer>(
          "idempotency_window", "integer, s", "dmq",
          [](auto& p) -> auto& { return p.idempotency_window_ms; }, 0, 366LL * 24 * 3600,
          "A second message with the same idempotency_key within this many seconds answers "
          "the first one's id and stores nothing; 0: keys are ignored.",
          1000),
      flag<producer>(
          "idempotency_from_request_id", "dmq",
          [](auto& p) -> auto& { return p.idempotency_from_request_id; },
          "true: a message's request_id is also its idempotency key (when it has none)."),
      flag<producer>(
          "find_index", "dmq", [](auto& p) -> auto& { return p.find_index; },
          "true (default): each message sent with a request_id is indexed by it, as long as "
          "its record lives, so /api/message/find answers its id (docs/storage.md has the "
          "cost); false: no index, find by request_id answers nothing."),
      number<producer>(
          "shards", "integer", "dmq", [](auto& p) -> auto& { return p.shards; }, 1, 64,
          "Hash tags the project's messages spread over, so that one busy project uses every "
          "master of a Redis Cluster (docs/scaling.md); use 3 x the masters. 1: one tag (one "
          "slot). Raising it later keeps the messages stored before; lowering it strands "
          "those of the dropped shards (dmq server warns about them at start)."),
  }};
  return t;
}

void read_products(const reader& r, const YAML::Node& n, const std::string& shown, settings& s);

// read_cluster_seeds reads redis.cluster: a list of "host:port".
void read_cluster_seeds(const reader& r, const YAML::Node& n, const std::string& shown,
                        settings& s) {
  if (n.IsNull()) return;
  if (!n.IsSequence()) return r.fail(shown, "must be a list of host:port");
  s.redis.cluster.clear();
  for (std::size_t i = 0; i < n.size(); ++i) {
    auto at = indexed(shown, i);
    if (!n[i].IsScalar()) {
      r.fail(at, "must be host:port");
      continue;
    }
    auto v = n[i].Scalar();
    auto colon = v.rfind(':');
    long port = 0;
    bool digits = colon != std::string::npos && colon + 1 < v.size() && v.size() - colon <= 6;
    for (std::size_t j = colon + 1; digits && j < v.size(); ++j) {
      digits = v[j] >= '0' && v[j] <= '9';
      port = port * 10 + (v[j] - '0');
    }
    if (colon == 0 || !digits || port < 1 || port > 65535) {
      r.fail(at, "must be host:port (a port 1-65535), not '" + v + "'");
      continue;
    }
    s.redis.cluster.push_back(v);
  }
}
void read_command_list(const reader& r, const YAML::Node& n, const std::string& shown, settings& s);

// settings_table declares every key of config.yaml.
const table<settings>& settings_table() {
  static const table<settings> t{
      {
          // The seed's keys, read as the original dmq read them.
          number<settings>(
              "http_port", "integer", "seed", [](auto& s) -> auto& { return s.http.port; }, 1,
              65535, "Port of the ingest HTTP API."),
          custom<settings>("product_list", "list of producers", "seed", "[]", false,
                           "Projects allowed to send messages (see the product_list entry keys).",
                           read_products),
          number<settings>(
              "msg_save_days", "integer", "seed", [](auto& s) -> auto& { return s.msg_save_days; },
              1, 36500,
              "Days a message's data is kept after its due time; its per-consumer "
              "status and pending ids are kept twice as long."),
          number<settings>(
              "msg_save_seconds", "integer, s", "dmq",
              [](auto& s) -> auto& { return s.msg_save_seconds; }, 0, 2000000000,
              "When above 0, replaces msg_save_days: a message's data is kept this many "
              "seconds after its due time (statuses twice as long). For short retention: "
              "soak tests, or messages worthless after minutes."),
          text<settings>(
              "request_trace_id_key", "seed",
              [](auto& s) -> auto& { return s.request_trace_id_key; }, false,
              "A message's request_id reaches consumers in the header X-<this key>.", check_token),
          flag<settings>(
              "disable_success_log", "seed",
              [](auto& s) -> auto& { return s.log.disable_success_log; },
              "1/true: no log line per successful delivery (failures are always "
              "logged)."),
          text<settings>(
              "redis.host", "seed", [](auto& s) -> auto& { return s.redis.host; }, false,
              "Redis host name or address.",
              [](const std::string& v) {
                return v.empty() ? std::string("must not be empty") : std::string();
              }),
          number<settings>(
              "redis.port", "integer", "seed", [](auto& s) -> auto& { return s.redis.port; }, 1,
              65535,
              "Redis port; with redis.embedded, the port the private redis-server "
              "listens on."),
          secret_text<settings>(
              "redis.password", "seed", [](auto& s) -> auto& { return s.redis.password; },
              "Redis password (AUTH), or env:VAR / file:PATH holding it; empty or null for "
              "none. With redis.embedded: generated, in redis.data_dir/password."),
          text<settings>(
              "redis.username", "dmq", [](auto& s) -> auto& { return s.redis.username; }, false,
              "Redis ACL user for AUTH; empty: the default user."),
          number<settings>(
              "redis.db", "integer", "seed", [](auto& s) -> auto& { return s.redis.db; }, 0, no_max,
              "Redis database number."),
          number<settings>(
              "redis.pool_size", "integer", "seed",
              [](auto& s) -> auto& { return s.redis.pool_size; }, 1, 10000,
              "Redis connections; dmq pipelines commands, so a few carry the "
              "whole load."),
          number<settings>(
              "redis.max_retries", "integer", "seed",
              [](auto& s) -> auto& { return s.redis.max_retries; }, 0, 1000,
              "Times a Redis command failed by a broken connection is retried."),
          number<settings>(
              "redis.min_retry_backoff", "integer, ms", "seed",
              [](auto& s) -> auto& { return s.redis.min_retry_backoff_ms; }, 0, no_max,
              "Smallest wait before a Redis retry."),
          number<settings>(
              "redis.max_retry_backoff", "integer, ms", "seed",
              [](auto& s) -> auto& { return s.redis.max_retry_backoff_ms; }, 0, no_max,
              "Largest wait before a Redis retry."),
          number<settings>(
              "redis.read_timeout", "integer, s", "seed",
              [](auto& s) -> auto& { return s.redis.read_timeout_ms; }, 1, no_max,
              "A Redis reply must arrive within this many seconds.", 1000),
          number<settings>(
              "redis.write_timeout", "integer, s", "seed",
              [](auto& s) -> auto& { return s.redis.write_timeout_ms; }, 1, no_max,
              "A Redis request must be written within this many seconds.", 1000),
          custom<settings>("command_list", "list of files", "seed", "[]", false,
                           "Command files, relative to CONFIG_DIR, else to CONFIG_DIR/commands, "
                           "or absolute.",
                           read_command_list),
          // dmq's own keys.
          text<settings>(
              "http.listen", "dmq", [](auto& s) -> auto& { return s.http.listen; }, false,
              "Address the ingest API listens on; 0.0.0.0 or :: for all (then give every "
              "project tokens or allow_ip: docs/security.md).",
              check_ip),
          location<settings>(
              "http.tls.cert_file", [](auto& s) -> auto& { return s.http.tls.cert_file; }, true,
              "PEM certificate chain of the API; set: HTTPS only on http_port and "
              "dispatch.http_port (reloaded on SIGHUP). Relative to CONFIG_DIR."),
          location<settings>(
              "http.tls.key_file", [](auto& s) -> auto& { return s.http.tls.key_file; }, true,
              "PEM private key of http.tls.cert_file."),
          location<settings>(
              "http.tls.client_ca_file", [](auto& s) -> auto& { return s.http.tls.client_ca_file; },
              true, "PEM CAs; set: callers must present a certificate one of them signed."),
          ip_list<settings>(
              "admin.allow_ip", "dmq", [](auto& s) -> auto& { return s.admin.allow_ip; },
              "Addresses that may call every management endpoint of every project; empty: "
              "none."),
          token_list<settings>(
              "admin.tokens", [](auto& s) -> auto& { return s.admin.tokens; },
              "Bearer tokens that may call every management endpoint and /metrics."),
          ip_list<settings>(
              "metrics.allow_ip", "dmq", [](auto& s) -> auto& { return s.metrics.allow_ip; },
              "Addresses that may read /metrics (default: 127.0.0.1 and ::1)."),
          token_list<settings>(
              "metrics.tokens", [](auto& s) -> auto& { return s.metrics.tokens; },
              "Bearer tokens that may read /metrics."),
          number<settings>(
              "http.read_timeout_ms", "integer, ms", "dmq",
              [](auto& s) -> auto& { return s.http.read_timeout_ms; }, 1, no_max,
              "A request must arrive whole within this time."),
          number<settings>(
              "http.idle_timeout_ms", "integer, ms", "dmq",
              [](auto& s) -> auto& { return s.http.idle_timeout_ms; }, 1, no_max,
              "Keep-alive connections idle longer are closed."),
          number<settings>(
              "http.shutdown_timeout_ms", "integer, ms", "dmq",
              [](auto& s) -> auto& { return s.http.shutdown_timeout_ms; }, 0, no_max,
              "On SIGTERM/SIGINT, requests in flight get this long."),
          number<settings>(
              "http.max_connections", "integer", "dmq",
              [](auto& s) -> auto& { return s.http.max_connections; }, 1, no_max,
              "Connections served at once; more wait to be accepted."),
          flag<settings>(
              "http.reuse_port", "dmq", [](auto& s) -> auto& { return s.http.reuse_port; },
              "true: the API's port (and dispatch.http_port) is opened with SO_REUSEPORT, so "
              "several dmq processes serve one port, the kernel spreading connections over "
              "them; workers above 1 sets it. docs/scaling.md."),
          number<settings>(
              "workers", "integer", "dmq", [](auto& s) -> auto& { return s.workers; }, 1, 32,
              "Processes dmq client, server or run starts, under one parent that restarts a "
              "child that dies, on one port (http.reuse_port); 1: one process, no parent. "
              "`--workers N` overrides it. docs/scaling.md."),
          ip_list<settings>(
              "trusted_proxies", "dmq", [](auto& s) -> auto& { return s.http.trusted_proxies; },
              "Peers whose X-Forwarded-For / X-Real-Ip are believed; from others "
              "the caller is the peer address."),
          number<settings>(
              "redis.connect_timeout_ms", "integer, ms", "dmq",
              [](auto& s) -> auto& { return s.redis.connect_timeout_ms; }, 1, no_max,
              "A Redis connection must be made within this time."),
          flag<settings>(
              "redis.embedded", "dmq", [](auto& s) -> auto& { return s.redis.embedded; },
              "true: dmq runs its own redis-server child on 127.0.0.1:redis.port, "
              "data in redis.data_dir."),
          location<settings>(
              "redis.data_dir", [](auto& s) -> auto& { return s.redis.data_dir; }, false,
              "Data (AOF) and log of the embedded redis-server; relative to "
              "CONFIG_DIR."),
          choice<settings>(
              "redis.appendfsync", [](auto& s) -> auto& { return s.redis.appendfsync; },
              {"always", "everysec", "no"},
              "fsync policy of the embedded redis-server's append-only file: always, "
              "everysec or no."),
          flag<settings>(
              "redis.allow_eviction", "dmq",
              [](auto& s) -> auto& { return s.redis.allow_eviction; },
              "true: start even when Redis's maxmemory-policy can evict keys (anything but "
              "noeviction), with a warning; accepted messages may then vanish. "
              "docs/operations.md."),
          text<settings>(
              "redis.server_path", "dmq", [](auto& s) -> auto& { return s.redis.server_path; },
              false, "The redis-server binary for redis.embedded (searched in PATH).",
              [](const std::string& v) {
                return v.empty() ? std::string("must not be empty") : std::string();
              }),
          text<settings>(
              "redis.key_prefix", "dmq", [](auto& s) -> auto& { return s.redis.key_prefix; }, false,
              "First part of every Redis key dmq writes; no '{', '}', ':' or spaces.",
              check_key_prefix),
          custom<settings>("redis.cluster", "list of host:port", "dmq", "[]", false,
                           "Seed nodes of a Redis Cluster (any of its nodes): set, dmq runs in "
                           "cluster mode, routing each key to its master, and redis.host, "
                           "redis.port and redis.db are not used. docs/scaling.md.",
                           read_cluster_seeds),
          number<settings>(
              "redis.wait_replicas", "integer", "dmq",
              [](auto& s) -> auto& { return s.redis.wait_replicas; }, 0, 16,
              "Above 0: a save is answered only once WAIT says this many replicas have it "
              "(so an accepted message survives the loss of its master); else it is answered "
              "not saved and revoked. docs/scaling.md."),
          number<settings>(
              "redis.wait_timeout_ms", "integer, ms", "dmq",
              [](auto& s) -> auto& { return s.redis.wait_timeout_ms; }, 1, 60000,
              "How long a save waits for redis.wait_replicas replicas."),
          number<settings>(
              "limits.max_body_bytes", "integer, bytes", "dmq",
              [](auto& s) -> auto& { return s.limits.max_body_bytes; }, 1, no_max,
              "Largest request body the API reads."),
          number<settings>(
              "limits.max_batch_items", "integer", "dmq",
              [](auto& s) -> auto& { return s.limits.max_batch_items; }, 1, no_max,
              "Most messages in one /api/message/batch request."),
          number<settings>(
              "limits.max_queued_saves", "integer", "dmq",
              [](auto& s) -> auto& { return s.limits.max_queued_saves; }, 1, no_max,
              "Most messages waiting in a process for Redis to take them; a request that "
              "would queue more is answered at once: HTTP 503, Retry-After: 1, code 129."),
          number<settings>(
              "limits.max_params_bytes", "integer, bytes", "dmq",
              [](auto& s) -> auto& { return s.limits.max_params_bytes; }, 1, no_max,
              "Largest params of one message."),
          number<settings>(
              "limits.max_field_bytes", "integer, bytes", "dmq",
              [](auto& s) -> auto& { return s.limits.max_field_bytes; }, 1, no_max,
              "Longest project, cmd, bucket or request_id."),
          number<settings>(
              "limits.max_solved_ids", "integer", "dmq",
              [](auto& s) -> auto& { return s.limits.max_solved_ids; }, 1, no_max,
              "Most msg_ids in one /api/message/solved request."),
          number<settings>(
              "limits.max_pending_list", "integer", "dmq",
              [](auto& s) -> auto& { return s.limits.max_pending_list; }, 1, no_max,
              "Most ids one /api/message/pending call returns."),
          number<settings>(
              "dispatch.lease_margin_ms", "integer, ms", "dmq",
              [](auto& s) -> auto& { return s.dispatch.lease_margin_ms; }, 100, no_max,
              "A claimed delivery's lease never runs past the consumer's timeout plus this (with "
              "heartbeat_lease_ms: 0 it is that long: a dispatcher that dies loses its leases "
              "after that long)."),
          number<settings>(
              "dispatch.heartbeat_lease_ms", "integer, ms", "dmq",
              [](auto& s) -> auto& { return s.dispatch.heartbeat_lease_ms; }, 0, no_max,
              "A claimed delivery is leased for this long (at most the consumer's timeout plus "
              "lease_margin_ms) and renewed every quarter of it while its dispatcher lives and "
              "the attempt runs, so the deliveries of a dispatcher that dies are due again "
              "within this long; 0: no renewal, the lease is timeout plus lease_margin_ms."),
          number<settings>(
              "dispatch.claim_batch", "integer", "dmq",
              [](auto& s) -> auto& { return s.dispatch.claim_batch; }, 1, 10000,
              "Most deliveries of one consumer claimed in one Redis round trip."),
          number<settings>(
              "dispatch.prefetch_ms", "integer, ms", "dmq",
              [](auto& s) -> auto& { return s.dispatch.prefetch_ms; }, 0, 1000,
              "Deliveries due within this long are claimed ahead and each sent at its due "
              "time, so a burst of messages due at one instant (whole-second timestamps) "
              "starts on time; a claimed message can no longer be cancelled. 0: claim at the "
              "due time."),
          number<settings>(
              "dispatch.claim_ahead", "integer", "dmq",
              [](auto& s) -> auto& { return s.dispatch.claim_ahead; }, 0, 100000,
              "Per consumer, most deliveries claimed (due, or due within prefetch_ms) beyond "
              "the concurrency attempts running, waiting in the dispatcher for a free slot or "
              "their due time: a burst never waits for a claim. They never reached the "
              "consumer, so a dispatcher that dies delivers none of them twice."),
          number<settings>(
              "dispatch.shutdown_timeout_ms", "integer, ms", "dmq",
              [](auto& s) -> auto& { return s.dispatch.shutdown_timeout_ms; }, 0, no_max,
              "On SIGTERM, deliveries in flight get this long; the rest are released."),
          number<settings>(
              "dispatch.max_idle_ms", "integer, ms", "dmq",
              [](auto& s) -> auto& { return s.dispatch.max_idle_ms; }, 10, no_max,
              "An idle queue is re-read at least this often (wake-ups normally come at once)."),
          number<settings>(
              "dispatch.http_port", "integer", "dmq",
              [](auto& s) -> auto& { return s.dispatch.http_port; }, 0, 65535,
              "dmq server: port of its own /healthz and /metrics, on http.listen; 0: none. "
              "(dmq client and dmq run serve them on http_port.)"),
          number<settings>(
              "dispatch.attempt_history", "integer", "dmq",
              [](auto& s) -> auto& { return s.dispatch.attempt_history; }, 0, 50,
              "Attempts kept per message and consumer (the attempt history: start, duration, "
              "HTTP status or error, the answer's first bytes, dispatcher), the last ones; a "
              "first-try success keeps none. 0: no history."),
          number<settings>(
              "dispatch.attempt_answer_bytes", "integer, bytes", "dmq",
              [](auto& s) -> auto& { return s.dispatch.attempt_answer_bytes; }, 0, 4096,
              "Bytes of each attempt's answer body kept in the attempt history."),
          location<settings>(
              "log.dir", [](auto& s) -> auto& { return s.log.dir; }, true,
              "Directory of the log files, relative to CONFIG_DIR; empty: log to "
              "stderr only."),
          choice<settings>(
              "log.rotate", [](auto& s) -> auto& { return s.log.rotate; },
              {"hourly", "daily", "size"},
              "When a new log file is started: hourly, daily or size (at "
              "log.max_size_mb)."),
          number<settings>(
              "log.max_files", "integer", "dmq", [](auto& s) -> auto& { return s.log.max_files; },
              0, 65535, "Rotated log files kept; 0 keeps all."),
          number<settings>(
              "log.max_size_mb", "integer, MB", "dmq",
              [](auto& s) -> auto& { return s.log.max_size_mb; }, 1, 1 << 20,
              "Size of a log file before rotation, for log.rotate: size."),
          choice<settings>(
              "log.level", [](auto& s) -> auto& { return s.log.level; },
              {"trace", "debug", "info", "warn", "error", "critical", "off"},
              "Least severe level logged: trace, debug, info, warn, error, critical or "
              "off."),
      },
      {
          {"get_point_sleep", "dmq wakes on the earliest due message instead of polling"},
          {"msg_point_chan_len", "dmq has no internal Go channels to size"},
          {"msg_bucket_chan_len", "dmq has no internal Go channels to size"},
          {"msg_detail_chan_len", "dmq has no internal Go channels to size"},
          {"bucket_coroutine_count",
           "dmq runs on an event loop with asynchronous I/O, not on a fixed count of coroutines"},
          {"msg_coroutine_count",
           "dmq runs on an event loop with asynchronous I/O, not on a fixed count of coroutines"},
          {"work_pool_size", "dmq delivers asynchronously: a waiting delivery holds no worker"},
          {"redis.min_idle_conns", "dmq keeps its redis.pool_size connections open"},
          {"redis.pool_timeout",
           "dmq pipelines on open connections and never waits for a free one"},
      }};
  return t;
}

// ---- the lists: product_list, command_list and the command files ----

// read_products reads product_list and refuses a project listed twice.
void read_products(const reader& r, const YAML::Node& n, const std::string& shown, settings& s) {
  read_items(r, n, shown, producer_table(), s.producers);
  std::map<std::string, std::size_t> first;
  for (std::size_t i = 0; i < s.producers.size(); ++i) {
    const auto& project = s.producers[i].project;
    if (project.empty()) continue;
    auto [it, fresh] = first.emplace(project, i);
    if (!fresh)
      r.fail(indexed(shown, i) + ".project",
             "duplicate project '" + project + "' (also " + indexed(shown, it->second) + ")");
  }
  // The shards of project P have the keys of projects named "P~..." (storage/keys.h).
  for (std::size_t i = 0; i < s.producers.size(); ++i) {
    if (s.producers[i].shards <= 1) continue;
    auto shards = s.producers[i].project + "~";
    for (const auto& [name, j] : first)
      if (name.starts_with(shards)) {
        std::string why = "project '" + name;
        why.append("' might share its keys with a shard of project '")
            .append(s.producers[i].project)
            .append("' (")
            .append(indexed(shown, i))
            .append(".shards): names starting with '")
            .append(shards)
            .append("' are its shards'");
        r.fail(indexed(shown, j) + ".project", why);
      }
  }
}

// relative_name names file relative to CONFIG_DIR, or absolutely when it lies outside.
std::string relative_name(const fs::path& dir, const fs::path& file) {
  auto rel = file.lexically_relative(dir);
  if (rel.empty() || *rel.begin() == "..") return file.string();
  return rel.string();
}

// find_command_file resolves a command_list entry: CONFIG_DIR/name, then
// CONFIG_DIR/commands/name; nullopt if neither is a file.
std::optional<fs::path> find_command_file(const fs::path& dir, const std::string& name) {
  fs::path p(name);
  std::vector<fs::path> tries;
  if (p.is_absolute())
    tries = {p};
  else
    tries = {dir / p, dir / "commands" / p};
  for (const auto& t : tries) {
    std::error_code ec;
    if (fs::is_regular_file(t, ec)) return t.lexically_normal();
  }
  return std::nullopt;
}

// parse_file parses a YAML file; nullopt (and a problem) if it cannot be read or parsed.
std::optional<YAML::Node> parse_file(const reader& r, const fs::path& file) {
  try {
    return YAML::LoadFile(file.string());
  } catch (const YAML::BadFile&) {
    r.fail("", "cannot be read");
  } catch (const YAML::Exception& e) {
    r.fail("", "bad YAML at line " + std::to_string(e.mark.line + 1) + ", column " +
                   std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  return std::nullopt;
}

// read_command_file reads one command file into s.commands.
void read_command_file(const reader& base, const fs::path& file, settings& s) {
  reader r = base;
  r.file = relative_name(base.dir, file);
  auto doc = parse_file(r, file);
  if (!doc) return;
  command c;
  c.file = r.file;
  read_map(r, *doc, "", command_table(), c);
  for (const auto& x : c.consumers) c.consumer_names.push_back(x.name);
  s.commands.push_back(std::move(c));
}

// read_command_list resolves each command_list entry and reads its file.
void read_command_list(const reader& r, const YAML::Node& n, const std::string& shown,
                       settings& s) {
  if (!read_list(r, n, shown)) return;
  std::map<fs::path, std::string> listed;
  for (std::size_t i = 0; i < n.size(); ++i) {
    auto key = indexed(shown, i);
    auto name = read_string(r, n[i], key);
    if (!name) continue;
    if (name->empty()) {
      r.fail(key, "must not be empty");
      continue;
    }
    auto file = find_command_file(r.dir, *name);
    if (!file) {
      r.fail(key, "command file '" + *name + "' not found (looked in " + r.dir.string() + " and " +
                      (r.dir / "commands").string() + ")");
      continue;
    }
    auto [it, fresh] = listed.emplace(*file, key);
    if (!fresh) {
      r.fail(key, "lists " + relative_name(r.dir, *file) + " again (also " + it->second + ")");
      continue;
    }
    read_command_file(r, *file, s);
  }
}

// ---- checks across keys and files ----

// check_commands refuses commands of unknown projects and a cmd defined twice.
void check_commands(std::vector<problem>& out, const settings& s) {
  std::map<std::string, const command*> by_cmd;
  for (const auto& c : s.commands) {
    if (!c.project.empty() && !s.find_producer(c.project))
      out.push_back(
          {c.file, "project", "project '" + c.project + "' is not in product_list of config.yaml"});
    if (c.cmd.empty()) continue;
    auto [it, fresh] = by_cmd.emplace(c.cmd, &c);
    if (!fresh)
      out.push_back({c.file, "command",
                     "duplicate command '" + c.cmd + "' (also in " + it->second->file + ")"});
  }
}

// check_consumer_names refuses a consumer name used twice, in any files.
void check_consumer_names(std::vector<problem>& out, const settings& s) {
  std::map<std::string, std::string> first;  // name -> "file consumer_list[i].name"
  for (const auto& c : s.commands) {
    for (std::size_t i = 0; i < c.consumers.size(); ++i) {
      const auto& name = c.consumers[i].name;
      if (name.empty()) continue;
      auto key = indexed("consumer_list", i) + ".name";
      auto [it, fresh] = first.emplace(name, c.file + " " + key);
      if (!fresh)
        out.push_back(
            {c.file, key, "duplicate consumer name '" + name + "' (also " + it->second + ")"});
    }
  }
}

// check_settings runs the checks that span several keys or files.
void check_settings(std::vector<problem>& out, const settings& s) {
  if (s.redis.max_retry_backoff_ms < s.redis.min_retry_backoff_ms)
    out.push_back({"config.yaml", "redis.max_retry_backoff", "must be >= redis.min_retry_backoff"});
  if (s.http.tls.enabled() != !s.http.tls.key_file.empty())
    out.push_back({"config.yaml", "http.tls", "cert_file and key_file go together"});
  if (!s.http.tls.client_ca_file.empty() && !s.http.tls.enabled())
    out.push_back({"config.yaml", "http.tls.client_ca_file", "needs cert_file and key_file"});
  if (s.redis.is_cluster() && s.redis.db != 0)
    out.push_back({"config.yaml", "redis.db",
                   "must be 0 with redis.cluster: a Redis Cluster has only database 0"});
  if (s.redis.is_cluster() && s.redis.embedded)
    out.push_back({"config.yaml", "redis.cluster",
                   "cannot go with redis.embedded (dmq starts a single redis-server)"});
  check_commands(out, s);
  check_consumer_names(out, s);
}

// defaults returns the settings of an empty config.yaml, with paths still relative.
settings defaults() {
  settings s;
  s.redis.data_dir = "data/redis";
  s.metrics.allow_ip = {*util::ip_range::parse("127.0.0.1"), *util::ip_range::parse("::1")};
  return s;
}

// absolute_dir returns dir absolute and without a trailing separator.
fs::path absolute_dir(const fs::path& dir) {
  auto p = fs::absolute(dir).lexically_normal();
  return p.has_filename() ? p : p.parent_path();
}

// under returns p resolved against dir unless it is absolute.
fs::path under(const fs::path& dir, const fs::path& p) {
  return p.is_absolute() ? p.lexically_normal() : (dir / p).lexically_normal();
}

// load_settings does all of load() but may throw.
load_result load_settings(const fs::path& config_dir) {
  load_result out;
  settings s = defaults();
  s.dir = absolute_dir(config_dir);
  reader r{"config.yaml", s.dir, &out.problems, &out.notes};
  auto file = s.dir / "config.yaml";
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) {
    r.fail("", "not found in " + s.dir.string());
    return out;
  }
  auto doc = parse_file(r, file);
  if (!doc) return out;
  if (doc->IsNull()) {  // empty, or only comments: most likely the wrong file or a bad copy
    r.fail("",
           "is empty: it needs at least product_list and command_list (see config/config.yaml)");
    return out;
  }
  read_map(r, *doc, "", settings_table(), s);
  s.redis.data_dir = under(s.dir, s.redis.data_dir);
  if (!s.log.dir.empty()) s.log.dir = under(s.dir, s.log.dir);
  for (auto& c : s.commands)
    for (auto& x : c.consumers)
      if (!x.ca_file.empty()) x.ca_file = under(s.dir, x.ca_file);
  for (auto* f : {&s.http.tls.cert_file, &s.http.tls.key_file, &s.http.tls.client_ca_file})
    if (!f->empty()) *f = under(s.dir, *f);
  check_settings(out.problems, s);
  if (out.problems.empty()) out.cfg = std::move(s);
  return out;
}

// ---- reference ----

// reference_row: one line of reference().
struct reference_row {
  std::string key, type, value, origin, description;
};

// add_rows appends the reference rows of t, showing the values of defaults.
template <class T>
void add_rows(std::vector<reference_row>& rows, const table<T>& t, const T& defaults,
              std::string_view prefix) {
  for (const auto& p : t.props)
    rows.push_back({std::string(prefix) + std::string(p.key), std::string(p.type), p.show(defaults),
                    std::string(p.origin), std::string(p.description)});
}

// format_rows lays rows out in aligned columns under a header line.
std::string format_rows(const std::vector<reference_row>& rows) {
  std::size_t w[4] = {3, 4, 7, 6};
  for (const auto& r : rows) {
    w[0] = std::max(w[0], r.key.size());
    w[1] = std::max(w[1], r.type.size());
    w[2] = std::max(w[2], r.value.size());
  }
  auto pad = [](std::string s, std::size_t n) { return s.append(n + 2 - s.size(), ' '); };
  std::string out = pad("KEY", w[0]) + pad("TYPE", w[1]) + pad("DEFAULT", w[2]) +
                    pad("ORIGIN", w[3]) + "DESCRIPTION\n";
  for (const auto& r : rows)
    out += pad(r.key, w[0]) + pad(r.type, w[1]) + pad(r.value, w[2]) + pad(r.origin, w[3]) +
           r.description + "\n";
  return out;
}

}  // namespace

std::string problem::to_string() const {
  if (key.empty()) return file + ": " + reason;
  return file + ": " + key + ": " + reason;
}

const producer* settings::find_producer(std::string_view project) const {
  for (const auto& p : producers)
    if (p.project == project) return &p;
  return nullptr;
}

const command* settings::find_command(std::string_view cmd) const {
  for (const auto& c : commands)
    if (c.cmd == cmd) return &c;
  return nullptr;
}

std::pair<const command*, const consumer*> settings::find_consumer(std::string_view name) const {
  for (const auto& c : commands)
    for (const auto& x : c.consumers)
      if (x.name == name) return {&c, &x};
  return {nullptr, nullptr};
}

load_result load(const fs::path& dir) {
  try {
    return load_settings(dir);
  } catch (const std::exception& e) {
    // A bug, not a configuration mistake; still reported as a problem, never thrown.
    load_result out;
    out.problems.push_back({"config.yaml", "", std::string("cannot be loaded: ") + e.what()});
    return out;
  }
}

std::string reference() {
  std::vector<reference_row> rows;
  add_rows(rows, settings_table(), defaults(), "");
  add_rows(rows, producer_table(), producer{}, "product_list[].");
  std::ostringstream out;
  out << "# CONFIG_DIR/config.yaml (ORIGIN seed: the original dmq's key; dmq: dmq's own)\n"
      << format_rows(rows);
  rows.clear();
  add_rows(rows, command_table(), command{}, "");
  add_rows(rows, consumer_table(), consumer{}, "consumer_list[].");
  out << "\n# command files (each entry of command_list)\n" << format_rows(rows);
  out << "\n# seed keys read past on purpose (one note each when present)\n";
  for (const auto& i : settings_table().ignored) out << i.key << ": " << i.reason << "\n";
  return out.str();
}

}  // namespace dmq::config
