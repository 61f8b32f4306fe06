#include "flowbp/error_message.h"

#include <c10/util/Exception.h>

#include <vector>

namespace flowbp {

namespace {

std::vector<std::string> nonempty_lines(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    std::string line = text.substr(start, end - start);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.pop_back();
    if (!line.empty()) out.push_back(line);
    start = end + 1;
  }
  return out;
}

}  // namespace

std::string error_message_text(const std::string& what) {
  const std::vector<std::string> lines = nonempty_lines(what);
  if (lines.empty()) return what;
  // "The following operation failed in the TorchScript interpreter. Traceback … HERE …
  //  builtins.ValueError: <the module's message>": the last line is what was raised.
  if (lines.front().rfind("The following operation failed in the TorchScript interpreter", 0) == 0) {
    std::string raised = lines.back();
    if (raised.rfind("builtins.", 0) == 0) raised = raised.substr(9);
    return raised + " (raised in the TorchScript module)";
  }
  return what;
}

std::string error_message(const std::exception& error) {
  if (const auto* c10_error = dynamic_cast<const c10::Error*>(&error))
    return error_message_text(c10_error->what_without_backtrace());
  return error_message_text(error.what());
}

}  // namespace flowbp
