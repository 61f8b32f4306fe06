// keep_freed_memory(): blocks up to 32 MiB come from the heap and stay there when freed,
// so the next step's activations reuse them instead of faulting in fresh pages.
#include <malloc.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "flowbp/compute_threads.h"
#include <doctest.h>

using namespace flowbp;

TEST_CASE("keep_freed_memory: a 24 MiB block is taken from the heap and kept there when freed") {
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables && std::string(tunables).find("glibc.malloc.") != std::string::npos) {
    CHECK_FALSE(keep_freed_memory());  // the user's tunables win
    return;
  }
  REQUIRE(keep_freed_memory());
  const std::size_t size = std::size_t{24} << 20;
  const auto mapped = [] { return static_cast<long long>(mallinfo2().hblkhd); };
  const long long before = mapped();
  void* block = std::malloc(size);
  REQUIRE(block != nullptr);
  std::memset(block, 1, size);
  CHECK(mapped() - before < static_cast<long long>(size));  // not a mapping of its own
  std::free(block);
  CHECK(mallinfo2().fordblks >= size);  // still held for the next allocation
}
