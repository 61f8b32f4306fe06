#include "flowbp/did_you_mean.h"

#include <algorithm>
#include <cctype>

namespace flowbp {

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                  std::tolower(static_cast<unsigned char>(b[j - 1]));
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (same ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string closest_match(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  // A third of the word, at least 2; never more than 8 (a long paste resembles nothing).
  std::size_t best_distance = std::min<std::size_t>(8, std::max<std::size_t>(2, word.size() / 3)) + 1;
  for (const auto& c : candidates) {
    // The distance is at least the length difference: a long paste skips the quadratic work.
    const std::size_t gap = word.size() > c.size() ? word.size() - c.size() : c.size() - word.size();
    if (gap >= best_distance && c.find(word) == std::string::npos) continue;
    std::size_t d = edit_distance(word, c);
    // A prefix ("lagrange" for "flowbp-lagrange") is as good as a near miss.
    bool affix = c.size() > word.size() && word.size() >= 3 &&
                 (c.find(word) != std::string::npos);
    if (affix) d = std::min<std::size_t>(d, 1);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  return best;
}

std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best = closest_match(word, candidates);
  return best.empty() ? std::string() : " (did you mean '" + best + "'?)";
}

}  // namespace flowbp
