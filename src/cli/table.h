// table: rows printed in aligned columns for people (--json prints the data instead).
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace dmq::cli {

class table {
 public:
  explicit table(std::vector<std::string> header) : header_(std::move(header)) {}
  // add appends a row; a missing cell prints empty, an extra one is kept.
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.empty(); }
  std::size_t size() const { return rows_.size(); }
  // print writes the header and the rows, columns two spaces apart, no trailing blanks.
  void print(std::ostream& out) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// width returns how many columns s takes in a terminal: its UTF-8 code points.
std::size_t width(const std::string& s);

}  // namespace dmq::cli
