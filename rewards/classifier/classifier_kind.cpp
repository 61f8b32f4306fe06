// reward.kind = "classifier": the alignment reward log p(c | x) of a CNN the harness
// trains on the first half of the training images (the analogue of GenEval-style
// alignment rewards). Its out-of-domain column is the held-out evaluator's log p(c | x)
// (another architecture, the other half of the data): the HPSv2 → PickScore analogue,
// so a generator that fools the reward CNN without drawing the class shows.
#include <sstream>

#include "flowbp/image_evaluator.h"
#include "flowbp/reward.h"

namespace flowbp {

namespace {

class ClassifierRewardKind final : public RewardKind {
 public:
  KindInfo info() const override {
    KindInfo k;
    k.name = "classifier";
    k.summary = "log p(c | x) of a reward CNN trained on half the training images; OOD: the held-out evaluator's log p";
    k.backbones = {"dit"};
    return k;
  }

  Reward create(const RewardConfig&, const Backbone& backbone, const ModelContext& context) const override {
    const ImageDomain& domain = domain_as<ImageDomain>(backbone, "classifier");
    ClassifierLoadInfo info;
    auto reward = std::make_shared<const ClassifierLogProbReward>(load_or_train_classifier(
        reward_classifier_recipe(), *domain.data, context.cache_dir, &info, context.device, !context.quiet));
    auto evaluator = domain.evaluator;
    Reward r;
    r.fn = [reward](const at::Tensor& x, const at::Tensor& cond) { return (*reward)(x, cond); };
    r.metrics = {{"ood_logp", false}};
    r.score = [evaluator](const at::Tensor& x, const at::Tensor& cond) {
      return std::vector<double>{evaluator->mean_ood_reward(x, cond)};
    };
    std::ostringstream note;
    note.precision(4);
    note << "reward: " << arch_name(reward_classifier_recipe().arch)
         << " log p(c | x), test accuracy " << info.test_accuracy
         << (info.shipped ? ", loaded the shipped " : info.from_cache ? ", loaded " : ", trained, cached at ") << info.path;
    if (!info.rejected.empty()) note << "; not trusted: " << info.rejected;
    r.note = note.str();
    return r;
  }
};

}  // namespace

}  // namespace flowbp

FLOWBP_REGISTER_REWARD_KIND(flowbp::ClassifierRewardKind)
