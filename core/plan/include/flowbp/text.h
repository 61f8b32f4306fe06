// Small text helpers several front ends share (JSON, TOML and index writers).
#pragma once
#include <string>
#include <vector>

namespace flowbp {

// A double-quoted string with backslash escapes that is valid both as a JSON string
// and as a TOML basic string (control characters and DEL as \u00XX).
std::string quoted(const std::string& text);

// The shortest text that reads back as the same double, always spelled as a TOML
// float ("1.0", "0.3", "1e-05", "nan", "inf").
std::string toml_real(double value);

// The non-empty pieces of `text` between `separator`s ("a,,b" → {"a", "b"}).
std::vector<std::string> split_nonempty(const std::string& text, char separator);

// A user's text as a message shows it: whole when short, else its start and length
// ("aaaa… (10485760 characters)"), so a pasted file never floods a terminal.
std::string abbreviated(const std::string& text, std::size_t keep = 80);

// The current time as ISO-8601 UTC, e.g. "2026-11-23T12:00:00Z".
std::string utc_now_iso8601();

}  // namespace flowbp
