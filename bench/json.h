// A small JSON value with a parser and a writer: enough for the benchmark's
// --json report and for reading the Python reference's output, without a new
// dependency.
#pragma once
#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace flowbp::bench {

struct JsonError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Json {
 public:
  enum class Kind { Null, Bool, Number, String, Array, Object };

  Json() = default;
  Json(bool b) : kind_(Kind::Bool), bool_(b) {}                      // NOLINT: implicit on purpose
  Json(double d) : kind_(Kind::Number), number_(d) {}                 // NOLINT
  Json(int i) : kind_(Kind::Number), number_(i) {}                    // NOLINT
  Json(long i) : kind_(Kind::Number), number_(static_cast<double>(i)) {}       // NOLINT
  Json(long long i) : kind_(Kind::Number), number_(static_cast<double>(i)) {}  // NOLINT
  Json(const char* s) : kind_(Kind::String), text_(s) {}              // NOLINT
  Json(std::string s) : kind_(Kind::String), text_(std::move(s)) {}   // NOLINT
  static Json array();
  static Json object();
  template <typename T>
  static Json array_of(const std::vector<T>& values) {
    Json a = array();
    for (const auto& v : values) a.push_back(Json(v));
    return a;
  }

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::Null; }
  bool as_bool() const;
  double as_number() const;
  const std::string& as_string() const;
  const std::vector<Json>& items() const;
  const std::vector<std::pair<std::string, Json>>& members() const;

  // Object access: `at` throws JsonError naming the missing key; `find` returns nullptr.
  const Json& at(const std::string& key) const;
  const Json* find(const std::string& key) const;
  Json& set(const std::string& key, Json value);  // replaces an existing key, keeps order
  void push_back(Json value);

  std::string dump(int indent = 2) const;
  static Json parse(const std::string& text);  // throws JsonError with the byte offset

 private:
  void dump_to(std::string& out, int indent, int depth) const;
  Kind kind_ = Kind::Null;
  bool bool_ = false;
  double number_ = 0;
  std::string text_;
  std::vector<Json> items_;
  std::vector<std::pair<std::string, Json>> members_;
};

}  // namespace flowbp::bench
