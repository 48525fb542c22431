// format: the JSON values of dmq's answers as text for people.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <string>

namespace dmq::cli {

// scalar returns a string without quotes, a number or bool as JSON writes it, null as "-",
// and an array or object as compact JSON.
std::string scalar(const boost::json::value& v);
// field returns scalar(o[name]), "-" when o is no object or has no such field.
std::string field(const boost::json::value& o, const char* name);
// int_field returns number(o[name]); fallback when o is no object or has no such field.
std::int64_t int_field(const boost::json::value& o, const char* name, std::int64_t fallback = 0);
// number returns v as an integer (a JSON number or a numeric string); fallback otherwise.
std::int64_t number(const boost::json::value& v, std::int64_t fallback = 0);

// attempt_error returns an attempt's error ("timeout", "refused", ...) for people: "" when
// there is none, or when it is "http" and the HTTP status, printed beside it, says it all.
std::string attempt_error(const boost::json::value& attempt);

// time_ms returns a unix time in milliseconds as UTC ISO 8601 ("2026-12-05T01:40:00.123Z");
// "-" for 0 or less.
std::string time_ms(std::int64_t ms);
// time_s does the same for seconds ("2026-12-05T01:40:00Z").
std::string time_s(std::int64_t s);
// duration_ms returns a span for people: "850ms", "12.5s", "3m05s", "2h10m", "4d3h".
std::string duration_ms(std::int64_t ms);

}  // namespace dmq::cli
