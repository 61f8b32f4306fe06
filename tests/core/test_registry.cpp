// Real dlopen of real shared modules built beside this test.

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <unistd.h>
#include <string>

#include "flowbp/plugin_abi.h"
#include "flowbp/registry.h"
#include <doctest.h>

using namespace flowbp;
namespace fs = std::filesystem;

namespace {

std::string fixture(const std::string& file) {
  const char* dir = std::getenv("FLOWBP_TEST_FIXTURES");
  REQUIRE_MESSAGE(dir != nullptr, "FLOWBP_TEST_FIXTURES is set by meson test");
  return std::string(dir) + "/" + file;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("a real plugin loads and declares itself") {
  Registry r;
  const Method& m = r.load_file(fixture("flowbp_method_echo_test.so"));
  CHECK(m.info().name == "echo-test");
  CHECK(r.has("echo-test"));
  CHECK(&r.get("echo-test") == &m);
  CHECK(m.info().axes.reward_input == "posterior mean");
  // Loading the same file again is harmless.
  CHECK(&r.load_file(fixture("flowbp_method_echo_test.so")) == &m);
}

TEST_CASE("an unknown method name gets a suggestion") {
  Registry r;
  r.load_file(fixture("flowbp_method_echo_test.so"));
  std::string m = error_of([&] { r.get("echo-tset"); });
  CHECK(m.find("unknown method 'echo-tset'") != std::string::npos);
  CHECK(m.find("did you mean 'echo-test'?") != std::string::npos);
}

TEST_CASE("a plugin built for another ABI version is refused before its entry point runs") {
  Registry r;
  std::string m = error_of([&] { r.load_file(fixture("flowbp_method_bad_abi.so")); });
  const std::string theirs = std::to_string(FLOWBP_PLUGIN_ABI_VERSION + 41);
  const std::string ours = std::to_string(FLOWBP_PLUGIN_ABI_VERSION);
  CHECK(m.find("built for plugin ABI version " + theirs) != std::string::npos);
  CHECK(m.find("this flowbp uses version " + ours + ";") != std::string::npos);
  CHECK(r.names().empty());
}

TEST_CASE("a plugin built with another C++ standard-library ABI is refused, naming what differs") {
  Registry r;
  const std::string m = error_of([&] { r.load_file(fixture("flowbp_method_other_abi.so")); });
  CHECK(m.find("was built with another C++ ABI: cxx11_abi=0 (this flowbp: 1)") != std::string::npos);
  CHECK(m.find("built by gcc-4") != std::string::npos);
  CHECK(m.find("pkg-config --cflags flowbp") != std::string::npos);
  CHECK(r.names().empty());
}

TEST_CASE("a plugin of the old handshake (ABI 2) is named as such") {
  Registry r;
  const std::string m = error_of([&] { r.load_file(fixture("flowbp_method_old_abi.so")); });
  CHECK(m.find("was built for plugin ABI version 2, but this flowbp uses version " +
               std::to_string(FLOWBP_PLUGIN_ABI_VERSION)) != std::string::npos);
}

TEST_CASE("the handshake carries the plugin's name and version") {
  Registry r;
  r.load_file(fixture("flowbp_method_echo_test.so"));
  CHECK(r.all().at("echo-test").version == "1.2.3");
}

TEST_CASE("a library that is not a plugin, and a missing file, are named") {
  Registry r;
  std::string m = error_of([&] { r.load_file(fixture("libnot_a_plugin.so")); });
  CHECK(m.find("is not a flowbp method plugin") != std::string::npos);
  CHECK(m.find("libnot_a_plugin.so") != std::string::npos);
  m = error_of([&] { r.load_file(fixture("flowbp_method_nowhere.so")); });
  CHECK(m.find("cannot load plugin") != std::string::npos);
}

TEST_CASE("a missing plugin directory is an error, not an empty registry") {
  Registry r;
  CHECK(error_of([&] { r.load_directory("/nonexistent/flowbp-plugins"); }).find("does not exist") !=
        std::string::npos);
  CHECK(error_of([&] { r.load_search_path({"/nonexistent/flowbp-plugins"}); }).find("does not exist") !=
        std::string::npos);
}

TEST_CASE("two plugins that claim one name are refused") {
  const fs::path tmp = fs::temp_directory_path() / ("flowbp-dup-" + std::to_string(::getpid()));
  fs::create_directories(tmp);
  fs::copy_file(fixture("flowbp_method_echo_test.so"), tmp / "flowbp_method_echo_copy.so",
                fs::copy_options::overwrite_existing);
  Registry r;
  r.load_file(fixture("flowbp_method_echo_test.so"));
  std::string m = error_of([&] { r.load_file((tmp / "flowbp_method_echo_copy.so").string()); });
  CHECK(m.find("defined twice") != std::string::npos);
  fs::remove_all(tmp);
}

TEST_CASE("a directory scan loads plugins and skips other files") {
  Registry r;
  const fs::path tmp = fs::temp_directory_path() / ("flowbp-scan-" + std::to_string(::getpid()));
  fs::create_directories(tmp);
  fs::copy_file(fixture("flowbp_method_echo_test.so"), tmp / "flowbp_method_echo_test.so",
                fs::copy_options::overwrite_existing);
  fs::copy_file(fixture("libnot_a_plugin.so"), tmp / "libnot_a_plugin.so", fs::copy_options::overwrite_existing);
  r.load_directory(tmp.string());
  CHECK(r.names() == std::vector<std::string>{"echo-test"});
  fs::remove_all(tmp);
}

TEST_CASE("method settings are resolved against the schema and the run's shape") {
  Registry r;
  const Method& m = r.load_file(fixture("flowbp_method_echo_test.so"));
  SettingValues v = resolve_method_params(m, {{"K", std::int64_t{3}}}, 25);
  CHECK(v.get_int("K") == 3);
  CHECK(error_of([&] { resolve_method_params(m, {{"K", std::int64_t{30}}}, 25); }) ==
        "method.K = 30 must be <= N = 25");
  CHECK(error_of([&] { resolve_method_params(m, {{"beta", 1.2}}, 25); }).find("method.beta: 1.2 is out of range: expected real in [0, 1]") !=
        std::string::npos);
  CHECK(error_of([&] { resolve_method_params(m, {{"betta", 0.2}}, 25); }).find("did you mean 'beta'?") !=
        std::string::npos);
}
