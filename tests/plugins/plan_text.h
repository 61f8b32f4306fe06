// One line of text per Plan, every field that reaches the engine or the log, reals
// marked '~' in round-trip precision: for golden files (spec-v1 plans equal the first edition's)
// and for the sampler checks' draws. Torch-free.
#pragma once
#include <cstdint>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "flowbp/plan.h"

namespace plugtest {

// A real in round-trip precision, marked with '~' so that golden checks can compare
// the plan's structure (indices, flags, inputs, the index stream) exactly and its reals
// (weights, scales, ρ) to a tolerance: computing the same weight another way moves its
// last bits.
inline std::string real_text(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "~%.17g", v);
  return buf;
}

inline std::string plan_text(const flowbp::Plan& plan) {
  using namespace flowbp;
  std::string out = "j=" + std::to_string(plan.j) + " s=" + std::to_string(plan.s) +
                    " rho=" + real_text(plan.grad_rescale_factor) + " tw=" + std::to_string(plan.trajectory_weighting) +
                    " twn=" + std::to_string(plan.trajectory_weighting_normalize) +
                    " floor=" + real_text(plan.residual_floor) + " active=";
  for (std::size_t k = 0; k < plan.active.size(); ++k) out += (k ? "," : "") + std::to_string(plan.active[k]);
  for (const auto& program : plan.programs) {
    out += " | start=" + std::string(program.start.kind == Start::Kind::Cached ? "C" : "R") + ":" +
           std::to_string(program.start.index) + ":" + std::to_string(program.start.source_program) + ":" +
           std::to_string(program.start.noise_stream);
    for (const auto& segment : program.segments) {
      out += " seg " + std::to_string(segment.from) + "->" + std::to_string(segment.to) + " pin=" + to_string(segment.pin);
      for (const auto& term : segment.terms)
        out += " [" + std::to_string(term.index) + ":" + real_text(term.weight) + ":" + std::to_string(term.active) +
               ":" + to_string(term.input) + ":" + real_text(term.beta) + ":" + real_text(term.grad_scale) + "]";
    }
  }
  return out;
}

}  // namespace plugtest

namespace plugtest {

// FNV-1a 64 of a text, as 16 hex digits (golden files store hashes of many plans).
inline std::string fnv1a(const std::string& text) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

// The text with every " rho=<value>" field removed (for plans whose logged factor
// changed meaning while the plan did not).
inline std::string without_rho(const std::string& text) {
  std::string out;
  std::size_t at = 0;
  while (true) {
    const std::size_t r = text.find(" rho=", at);
    if (r == std::string::npos) break;
    out += text.substr(at, r - at);
    at = text.find(' ', r + 1);
    if (at == std::string::npos) return out;
  }
  return out + text.substr(at);
}

}  // namespace plugtest

namespace plugtest {

// A plan text split into its structure (every finite real replaced by '~') and its
// finite reals in order.
struct SplitText {
  std::string structure;
  std::vector<double> reals;
};

inline SplitText split_reals(const std::string& text) {
  SplitText out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '~') {
      out.structure += text[i];
      continue;
    }
    std::size_t end = i + 1;
    while (end < text.size() && text[end] != ':' && text[end] != ']' && text[end] != ' ' && text[end] != '\n') ++end;
    const std::string number = text.substr(i + 1, end - i - 1);
    const double v = std::strtod(number.c_str(), nullptr);
    if (std::isfinite(v)) {
      out.structure += '~';
      out.reals.push_back(v);
    } else {
      out.structure += number;  // nan/inf are structure: they must match exactly
    }
    i = end - 1;
  }
  return out;
}

// "<structure hash> <count> <sum> <position-weighted sum>": what a golden file keeps of
// many plans' text.
inline std::string golden_digest(const std::string& text) {
  const SplitText split = split_reals(text);
  double sum = 0, weighted = 0;
  for (std::size_t k = 0; k < split.reals.size(); ++k) {
    sum += split.reals[k];
    weighted += static_cast<double>(k + 1) * split.reals[k];
  }
  char buf[128];
  std::snprintf(buf, sizeof buf, "%s %zu %.17g %.17g", fnv1a(split.structure).c_str(), split.reals.size(), sum,
                weighted);
  return buf;
}

// Whether two digests describe plans of the same structure (hash and number of reals).
inline bool same_structure(const std::string& a, const std::string& b) {
  return a.substr(0, a.find(' ', a.find(' ') + 1)) == b.substr(0, b.find(' ', b.find(' ') + 1));
}

// Whether two digests agree: structure and count exactly, the sums to 1e-10 relative.
inline bool same_digest(const std::string& a, const std::string& b) {
  char ha[32] = {}, hb[32] = {};
  std::size_t na = 0, nb = 0;
  double sa = 0, sb = 0, wa = 0, wb = 0;
  if (std::sscanf(a.c_str(), "%31s %zu %lf %lf", ha, &na, &sa, &wa) != 4) return false;
  if (std::sscanf(b.c_str(), "%31s %zu %lf %lf", hb, &nb, &sb, &wb) != 4) return false;
  auto close = [](double x, double y) { return std::fabs(x - y) <= 1e-10 * std::max(1.0, std::fabs(x)); };
  return std::string(ha) == hb && na == nb && close(sa, sb) && close(wa, wb);
}

}  // namespace plugtest
