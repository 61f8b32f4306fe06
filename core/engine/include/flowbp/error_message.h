// An exception's message as a user should read it: without LibTorch's C++ backtrace,
// and for an error raised inside a TorchScript module, the module's own message (the
// interpreter wraps it in a traceback whose first line says nothing about it).
#pragma once
#include <exception>
#include <string>

namespace flowbp {

std::string error_message(const std::exception& error);

// The same for a message already taken from an exception.
std::string error_message_text(const std::string& what);

}  // namespace flowbp
