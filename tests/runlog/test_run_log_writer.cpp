// Writes a run log the way the trainer does, for tests that need another process:
//   test_run_log_writer PATH ROWS            ROWS steps, 3 evals, status done
//   test_run_log_writer PATH --forever       rows until killed
//   test_run_log_writer PATH --fsize BYTES   rows until the file-size limit makes a write fail
// It prints "row N" on stdout (flushed) after each committed row, and on a write
// failure prints the error on stderr and exits 3.
#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "test_run_log_fixture.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s PATH ROWS | PATH --forever | PATH --fsize BYTES\n", argv[0]);
    return 2;
  }
  const std::string path = argv[1], mode = argv[2];
  std::int64_t rows = -1;
  if (mode == "--fsize" && argc > 3) {
    // A file-size limit fails writes with EFBIG as a full disk fails them with ENOSPC.
    std::signal(SIGXFSZ, SIG_IGN);
    const rlim_t limit = std::strtoull(argv[3], nullptr, 10);
    const rlimit rl{limit, limit};
    if (::setrlimit(RLIMIT_FSIZE, &rl) != 0) return 2;
  } else if (mode != "--forever") {
    rows = std::atoll(mode.c_str());
  }
  try {
    auto log = flowbp::RunLog::create(path, run_log_test::header(rows < 0 ? 1000000 : rows));
    log.append_eval(run_log_test::eval_row(0));
    for (std::int64_t i = 0; rows < 0 || i < rows; ++i) {
      log.append_step(run_log_test::step_row(i));
      std::printf("row %lld\n", static_cast<long long>(i + 1));
      std::fflush(stdout);
    }
    log.append_eval(run_log_test::eval_row(1));
    log.append_eval(run_log_test::eval_row(2));
    log.set_status("done");
    log.close();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 3;
  }
  return 0;
}
