// Torch-free helper for check_authors_samplers.py: prints what the plugins draw and what
// the samplers' deterministic cores return, one line per query.
//
//   plan_draws draws PLUGIN_FILE N SHIFT COUNT SEED [setting=value ...]
//       one line per plan: "j s m | a_1 a_2 ... | pre_1 ... ; post_1 ..." (m: the last
//       segment's start, DRTune's stop index; actives per segment, descending)
//   plan_draws layout LO HI S_MAX        stdin "p1 p2 p3" (float32) -> "l1 l2 l3 truncated s j"
//   plan_draws supports                  stdin "from to P" -> the supports, anchor first
//   plan_draws split                     stdin "K pre post" -> "pre post"
//   plan_draws midpoint                  stdin "N j" -> "j s"; midpoint_j: stdin "N s" -> "j s"
//   plan_draws window                    stdin "N i_min i_max tail_ratio" -> "lo hi" or "error"
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>

#include "flowbp/plan_builders.h"
#include "flowbp/quadrature.h"
#include "flowbp/registry.h"
#include "flowbp/samplers.h"

using namespace flowbp;

namespace {

SettingValue parse_value(const std::string& text) {
  if (text == "true") return true;
  if (text == "false") return false;
  char* end = nullptr;
  const long long i = std::strtoll(text.c_str(), &end, 10);
  if (end && *end == '\0' && !text.empty()) return std::int64_t{i};
  const double d = std::strtod(text.c_str(), &end);
  if (end && *end == '\0' && !text.empty()) return d;
  return text;
}

int draws(int argc, char** argv) {
  if (argc < 7) return 2;
  Registry registry;
  const Method& method = registry.load_file(argv[2]);
  const int n = std::atoi(argv[3]);
  const double shift = std::atof(argv[4]);
  const long count = std::atol(argv[5]);
  const unsigned long long seed = std::strtoull(argv[6], nullptr, 10);
  std::map<std::string, SettingValue> given;
  std::string preset;
  for (int a = 7; a < argc; ++a) {
    const std::string kv = argv[a];
    const auto eq = kv.find('=');
    if (kv.substr(0, eq) == "preset") preset = kv.substr(eq + 1);
    else given[kv.substr(0, eq)] = parse_value(kv.substr(eq + 1));
  }
  const SettingValues values = resolve_method_params(method, preset, given, n, shift);
  const Schedule schedule = Schedule::make(n, shift);
  std::mt19937_64 rng(seed);
  std::string out;
  for (long k = 0; k < count; ++k) {
    const Plan plan = method.plan(values, PlanContext{schedule, rng});
    const Program& program = plan.programs.at(0);
    out = std::to_string(plan.j) + " " + std::to_string(plan.s) + " " +
          std::to_string(program.segments.back().from) + " |";
    for (int i : plan.active) out += " " + std::to_string(i);
    out += " |";
    for (std::size_t g = 0; g < program.segments.size(); ++g) {
      if (g) out += " ;";
      for (const auto& term : program.segments[g].terms)
        if (term.active) out += " " + std::to_string(term.index);
    }
    out += '\n';
    std::fputs(out.c_str(), stdout);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const std::string mode = argv[1];
  try {
    if (mode == "draws") return draws(argc, argv);
    std::string line;
    while (std::getline(std::cin, line)) {
      std::istringstream in(line);
      if (mode == "layout") {
        float p[3];
        in >> p[0] >> p[1] >> p[2];
        const LeapWindow window{std::atoi(argv[2]), std::atoi(argv[3])};
        const DirichletLayout d = dirichlet_layout(p, window, std::atoi(argv[4]));
        std::printf("%d %d %d %d %d %d\n", d.lengths[0], d.lengths[1], d.lengths[2], d.truncated ? 1 : 0, d.leap.s,
                    d.leap.j);
      } else if (mode == "supports") {
        int from = 0, to = 0, points = 0;
        in >> from >> to >> points;
        std::string text;
        for (int i : interval_supports(from, to, points)) text += (text.empty() ? "" : " ") + std::to_string(i);
        std::printf("%s\n", text.c_str());
      } else if (mode == "split") {
        int k = 0, pre = 0, post = 0;
        in >> k >> pre >> post;
        const auto [a, b] = plan_builders::split_budget(k, pre, post);
        std::printf("%d %d\n", a, b);
      } else if (mode == "midpoint" || mode == "midpoint_j") {
        int n = 0, i = 0;
        in >> n >> i;
        const LeapIndices leap = mode == "midpoint" ? midpoint_pair(n, i) : midpoint_j_pair(n, i);
        std::printf("%d %d\n", leap.j, leap.s);
      } else if (mode == "window") {
        int n = 0, lo = 0, hi = 0;
        double ratio = 1;
        in >> n >> lo >> hi >> ratio;
        try {
          const LeapWindow w = leap_window(n, lo, hi, ratio);
          std::printf("%d %d\n", w.lo, w.hi);
        } catch (const std::invalid_argument&) {
          std::printf("error\n");
        }
      } else {
        return 2;
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "plan_draws: %s\n", e.what());
    return 1;
  }
  return 0;
}
