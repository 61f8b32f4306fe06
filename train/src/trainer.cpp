#include "flowbp/trainer.h"

#include <hdf5.h>
#include <sys/stat.h>
#include <torch/version.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <fstream>
#include <optional>
#include <sstream>

#include "flowbp/checkpoint.h"
#include "flowbp/evaluation.h"
#include "flowbp/memory.h"
#include "flowbp/progress.h"
#include "flowbp/run_log.h"
#include "flowbp/sealed_file.h"
#include "flowbp/train_step.h"
#include "flowbp/version.h"

namespace flowbp {

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

void make_dirs(const std::string& dir) {
  std::string partial = !dir.empty() && dir[0] == '/' ? "/" : "";
  std::stringstream parts(dir);
  std::string piece;
  while (std::getline(parts, piece, '/')) {
    if (piece.empty()) continue;
    partial += piece + "/";
    if (::mkdir(partial.c_str(), 0755) != 0 && errno != EEXIST)
      throw std::runtime_error("cannot create the run directory " + partial + ": " + std::strerror(errno));
  }
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_text_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) throw std::runtime_error(tmp + ": cannot write");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    throw std::runtime_error(path + ": cannot rename into place: " + std::strerror(errno));
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string hdf5_version() {
  unsigned major = 0, minor = 0, release = 0;
  H5get_libversion(&major, &minor, &release);
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(release);
}

void copy_weights(ToyVelocityNet& dst, ToyVelocityNet& src) {
  at::NoGradGuard no_grad;
  auto to = dst->named_parameters(), from = src->named_parameters();
  for (const auto& item : from) to[item.key()].copy_(item.value());
  auto bto = dst->named_buffers(), bfrom = src->named_buffers();
  for (const auto& item : bfrom) bto[item.key()].copy_(item.value());
}

RunLogHeader make_header(const Experiment& exp, const TrainOptions& opt, int max_active,
                         const std::string& cache_key) {
  RunLogHeader h;
  h.root_attrs = {
      {"flowbp_version", std::string(version())},
      {"torch_version", std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
                            std::to_string(TORCH_VERSION_PATCH)},
      {"hdf5_version", hdf5_version()},
      {"config_toml", resolved_toml(exp)},
      {"config_id", config_id(exp)},
      {"run_name", opt.run_name},
      {"method", exp.method},
      {"seed", static_cast<std::int64_t>(exp.train.seed)},
      {"world_size", std::int64_t{1}},
      {"created_utc", utc_now()},
      {"backbone_cache_key", cache_key},
      {"max_active", static_cast<std::int64_t>(max_active)},
  };
  h.config_leaves = exp.leaves();
  h.step_columns = step_columns(max_active);
  h.eval_columns = eval_columns();
  h.steps_total = exp.train.steps;
  return h;
}

Row eval_row(std::int64_t step, bool is_base, const std::vector<double>& metrics) {
  Row row = {static_cast<double>(step), is_base ? 1.0 : 0.0};
  row.insert(row.end(), metrics.begin(), metrics.end());
  return row;
}

std::string summary_line(const std::vector<double>& base, const std::vector<double>& last) {
  const auto& cols = eval_metric_columns();
  std::ostringstream s;
  s.precision(4);
  s << "eval (base -> EMA):";
  for (std::size_t i = 0; i < cols.size(); ++i) s << "  " << cols[i].name << " " << base[i] << " -> " << last[i];
  return s.str();
}

}  // namespace

std::vector<std::int64_t> training_conditions(const Experiment& exp) {
  std::vector<std::int64_t> pool;
  const auto& held = exp.eval.held_out_conditions;
  for (std::int64_t c = 0; c < exp.backbone.classes; ++c)
    if (std::find(held.begin(), held.end(), c) == held.end()) pool.push_back(c);
  if (pool.empty())
    for (std::int64_t c = 0; c < exp.backbone.classes; ++c) pool.push_back(c);
  return pool;
}

TrainResult train_run(const Experiment& exp, const Method& method, const TrainOptions& opt) {
  const auto t_run = Clock::now();
  TrainResult result;
  if (exp.train.device != "cpu")
    throw ConfigError("train.device: '" + exp.train.device +
                      "' is not available: the toy backbone trains on the CPU in this build (use \"cpu\")");
  if (exp.backbone.kind != "toy-gmm")
    throw ConfigError("backbone.kind: '" + exp.backbone.kind + "' is not available (this build has toy-gmm)");
  at::set_num_threads(opt.threads > 0 ? opt.threads : static_cast<int>(exp.train.threads));
  memory::install_counting_allocator();

  const std::string dir = opt.run_dir;
  const std::string log_path = dir + "/log.h5", ckpt_path = dir + "/checkpoint.bin",
                    config_path = dir + "/config.toml";
  const std::string config_text = resolved_toml(exp), id = config_id(exp);
  const bool log_exists = file_exists(log_path);
  if (log_exists && !opt.resume)
    throw ConfigError(dir + " already holds a run (log.h5): pass --resume to continue it, or --name for a new run");
  if (log_exists && file_exists(config_path) && read_text(config_path) != config_text)
    throw ConfigError(config_path + ": the run directory holds another configuration than " + exp.source_path +
                      " (config id " + id + "); use another --name");
  if (log_exists && read_run_log_summary(log_path).state == "done") {
    result.outcome = RunOutcome::AlreadyDone;
    result.steps_done = exp.train.steps;
    return result;
  }
  make_dirs(dir);

  const std::int64_t total = exp.train.steps;
  Progress progress(opt.run_name, total, 0, !opt.quiet);

  BackboneLoadInfo info;
  const std::string cache_dir = opt.cache_dir.empty() ? resolved_cache_dir(exp.backbone) : opt.cache_dir;
  ToyBackbone backbone = load_or_pretrain(exp.backbone, cache_dir, &info);
  {
    std::ostringstream note;
    note.precision(3);
    if (info.from_cache)
      note << "backbone: loaded " << info.path;
    else
      note << "backbone: pre-trained in " << info.seconds << " s" << (info.rejected.empty() ? "" : " (the cache was ")
           << info.rejected << (info.rejected.empty() ? "" : ", rebuilt)") << ", cached at " << info.path;
    progress.note(note.str());
  }
  const ModePreferenceReward reward(backbone.mixture, exp.reward);
  const EvalSuite eval(exp, backbone.mixture, reward);
  const Schedule schedule = Schedule::make(static_cast<int>(exp.sampling.steps), exp.sampling.shift);
  const std::vector<std::int64_t> conditions = training_conditions(exp);
  const int max_active = method.max_active(exp.method_params, schedule.steps());

  TrainingState st;
  st.model = make_velocity_net(exp.backbone);
  st.ema = make_velocity_net(exp.backbone);
  copy_weights(st.model, backbone.net);
  copy_weights(st.ema, backbone.net);
  st.model->train();
  st.ema->eval();
  for (auto& p : st.ema->parameters()) p.set_requires_grad(false);
  st.optimizer = std::make_unique<torch::optim::AdamW>(
      st.model->parameters(), torch::optim::AdamWOptions(exp.train.lr).weight_decay(exp.train.weight_decay));
  st.rng = RngStreams::seeded(exp.train.seed, 0);

  std::optional<RunLog> log;
  if (log_exists && file_exists(ckpt_path)) {
    load_checkpoint(ckpt_path, st, id);
    log.emplace(RunLog::reopen(log_path, st.step, st.eval_rows));
    log->set_status("running");
    result.resumed_from = st.step;
    progress.note("resuming after step " + std::to_string(st.step) + " from " + ckpt_path);
  } else {
    write_text_atomically(config_path, config_text);
    log.emplace(RunLog::create(log_path, make_header(exp, opt, max_active, backbone_cache_key(exp.backbone))));
  }

  const StepContext context{method,          exp.method_params,      schedule,
                            backbone.mixture, reward,                conditions,
                            exp.train.batch, exp.sampling.guidance, exp.reward.tau,
                            exp.reward.loss_scale, exp.train.max_grad_norm, exp.train.ema_decay,
                            exp.train.lr};
  std::int64_t step = st.step;
  try {
    std::vector<double> base_metrics = eval.evaluate(backbone.net), last_metrics = base_metrics;
    if (st.eval_rows == 0) {
      log->append_eval(eval_row(0, true, base_metrics));
      st.eval_rows = 1;
    }
    Progress bar(opt.run_name, total, st.step, !opt.quiet);
    double last_logging = 0;
    for (step = st.step + 1; step <= total; ++step) {
      StepOutcome o = train_step(context, st, step);
      o.record.time_logging = last_logging;
      o.record.time_step += last_logging;
      const auto t_log = Clock::now();
      log->append_step(step_row(o.record, max_active));
      last_logging = since(t_log);
      if (!o.failure.empty()) {
        log->set_status("failed", o.failure, step);
        log->close();
        bar.note("run failed: " + o.failure);
        result.outcome = RunOutcome::Failed;
        result.reason = o.failure;
        result.steps_done = step - 1;
        result.seconds = since(t_run);
        return result;
      }
      st.step = step;
      bar.update(step, o.record.loss, o.record.reward_mean);
      if (step == opt.stop_after_step) {
        log->close();
        bar.note("stopped after step " + std::to_string(step) + " (--stop-after-step); resume with --resume");
        result.outcome = RunOutcome::Stopped;
        result.steps_done = step;
        result.seconds = since(t_run);
        return result;
      }
      const auto every = [&](std::int64_t n) { return step == total || (n > 0 && step % n == 0); };
      if (every(exp.train.eval_every)) {
        last_metrics = eval.evaluate(st.ema);
        log->append_eval(eval_row(step, false, last_metrics));
        ++st.eval_rows;
      }
      if (every(exp.train.checkpoint_every)) save_checkpoint(ckpt_path, st, id);
    }
    bar.finish();
    log->set_status("done");
    log->close();
    bar.note(summary_line(base_metrics, last_metrics));
  } catch (const std::exception& e) {
    const std::string reason = std::string("error at step ") + std::to_string(step) + ": " + e.what();
    try {
      log->set_status("failed", reason, step);
      log->close();
    } catch (const std::exception&) {
      // The log itself failed (e.g. a full disk): the reason still reaches the caller.
    }
    result.outcome = RunOutcome::Failed;
    result.reason = reason;
    result.steps_done = st.step;
    result.seconds = since(t_run);
    return result;
  }
  result.outcome = RunOutcome::Done;
  result.steps_done = total;
  result.seconds = since(t_run);
  return result;
}

}  // namespace flowbp
