#include "flowbp/trainer.h"

#include <hdf5.h>
#include <sys/stat.h>
#include <torch/version.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include "flowbp/checkpoint.h"
#include "flowbp/compute.h"
#include "flowbp/clock.h"
#include "flowbp/compute_threads.h"
#include "flowbp/evaluation.h"
#include "flowbp/files.h"
#include "flowbp/memory.h"
#include "flowbp/progress.h"
#include "flowbp/resource_checks.h"
#include "flowbp/run_directory.h"
#include "flowbp/run_log.h"
#include "flowbp/sealed_file.h"
#include "flowbp/text.h"
#include "flowbp/train_step.h"
#include "flowbp/version.h"

namespace flowbp {

namespace {

std::string hdf5_version() {
  unsigned major = 0, minor = 0, release = 0;
  H5get_libversion(&major, &minor, &release);
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(release);
}

std::vector<at::Tensor> tensors_of(VelocityModel& model) {
  std::vector<at::Tensor> out;
  for (auto& item : model.named_tensors()) out.push_back(item.second);
  return out;
}

// Identical weights on every rank follow from identical averaged gradients; checked
// at checkpoints (a sum weighted by position, so permutations show too).
void check_same_weights(ProcessGroup& group, VelocityModel& model, std::int64_t step) {
  at::NoGradGuard no_grad;
  double fingerprint = 0;
  double k = 1;
  for (const auto& t : tensors_of(model)) {
    const at::Tensor flat = t.detach().reshape({-1}).to(at::kDouble).cpu();
    fingerprint += (flat * at::arange(1, flat.numel() + 1, flat.options()).mul_(1.0 / static_cast<double>(flat.numel())))
                       .sum()
                       .item<double>() *
                   k;
    k += 1;
  }
  const std::vector<double> extremes = group.max({fingerprint, -fingerprint});
  if (extremes[0] != -extremes[1])
    throw DistributedError("rank " + std::to_string(group.ranks().rank) + ": the weights differ between ranks at step " +
                           std::to_string(step) + " (fingerprints " + std::to_string(-extremes[1]) + " to " +
                           std::to_string(extremes[0]) + ")");
}

// Test hook: the final weights, one tensor a line ("name v0 v1 ..."), exact decimal.
void dump_weights(const std::string& path, VelocityModel& model) {
  std::ofstream out(path, std::ios::trunc);
  out.precision(9);
  for (const auto& [name, tensor] : model.named_tensors()) {
    const at::Tensor flat = tensor.detach().reshape({-1}).to(at::kDouble).cpu().contiguous();
    out << name;
    const double* v = flat.data_ptr<double>();
    for (std::int64_t i = 0; i < flat.numel(); ++i) out << ' ' << v[i];
    out << '\n';
  }
  if (!out.flush()) throw std::runtime_error(path + ": cannot write the weights");
}

RunLogHeader make_header(const Experiment& exp, const TrainOptions& opt, int max_active, const Backbone& backbone,
                         const EvalSuite& eval) {
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
      {"world_size", static_cast<std::int64_t>(opt.ranks.world_size)},
      {"created_utc", utc_now_iso8601()},
      {"backbone_cache_key", backbone.cache_key},
      {"max_active", static_cast<std::int64_t>(max_active)},
  };
  for (const auto& [key, value] : exp.leaves())
    h.config_leaves.emplace_back(key, std::visit(
                                          [](const auto& v) -> AttrValue {
                                            if constexpr (std::is_same_v<std::decay_t<decltype(v)>,
                                                                         std::vector<std::int64_t>>)
                                              return format_value(v);
                                            else
                                              return v;
                                          },
                                          value));
  h.step_columns = step_columns(max_active);
  h.eval_columns = eval_columns(eval.metrics());
  h.samples = eval.grid_spec();
  h.steps_total = exp.train.steps;
  return h;
}

Row eval_row(std::int64_t step, bool is_base, const std::vector<double>& metrics) {
  Row row = {static_cast<double>(step), is_base ? 1.0 : 0.0};
  row.insert(row.end(), metrics.begin(), metrics.end());
  return row;
}

std::string summary_line(const std::vector<MetricColumn>& cols, const std::vector<double>& base,
                         const std::vector<double>& last) {
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
  const std::int64_t count = exp.backbone.conditions;
  for (std::int64_t c = 0; c < count; ++c)
    if (std::find(held.begin(), held.end(), c) == held.end()) pool.push_back(c);
  if (pool.empty())
    for (std::int64_t c = 0; c < count; ++c) pool.push_back(c);
  return pool;
}

TrainResult train_run(const Experiment& exp, const Method& method, const TrainOptions& opt) {
  const auto t_run = Clock::now();
  TrainResult result;
  const RankInfo& ranks = opt.ranks;
  const bool lead = ranks.rank == 0;  // the only rank that writes files
  if (exp.train.batch % ranks.world_size != 0)
    throw ConfigError("train.batch: " + std::to_string(exp.train.batch) +
                      " is the global batch and must divide by the world size " + std::to_string(ranks.world_size) +
                      " (" + ranks.launcher + "), e.g. " +
                      std::to_string((exp.train.batch / ranks.world_size + 1) * ranks.world_size));
  const Compute compute = [&] {
    try {
      return make_compute(exp.train.device, ranks.local_rank, exp.train.autocast == "bf16", exp.train.tf32);
    } catch (const std::invalid_argument& e) {
      throw ConfigError(std::string("train.device: ") + e.what());
    }
  }();
  const int threads = opt.threads > 0 ? opt.threads : static_cast<int>(exp.train.threads);
  require_cores(threads, opt.threads > 0);
  set_compute_threads(threads);
  memory::install_counting_allocator();

  // Every rank reads the (shared) run directory's state before any rank writes to it,
  // so all of them take the same decision; rank 0 holds the directory's lock meanwhile.
  const std::string dir = opt.run_dir;
  const std::string log_path = dir + "/log.h5", ckpt_path = dir + "/checkpoint.bin",
                    config_path = dir + "/config.toml";
  const std::string config_text = resolved_toml(exp), id = config_id(exp);
  RunDirLock lock;
  if (lead && is_directory(dir)) lock.take(dir);
  if (file_exists(log_path) && is_run_log_stub(log_path)) {
    if (!opt.resume)
      throw ConfigError(dir + " holds an unreadable log.h5 (no run-log header: its creation failed, e.g. on a full "
                        "disk): pass --resume to start the run afresh (the file is kept aside)");
    if (lead) {
      const std::string kept = set_aside_unreadable_log(dir);
      if (!opt.quiet) std::fprintf(stderr, "%s: log.h5 held no run-log header; kept as %s, starting afresh\n", dir.c_str(), kept.c_str());
    }
  }
  const bool log_exists = file_exists(log_path);
  if (log_exists && !opt.resume)
    throw ConfigError(dir + " already holds a run (log.h5): pass --resume to continue it, or --name for a new run");
  if (log_exists && file_exists(config_path) && read_file_or_empty(config_path) != config_text)
    throw ConfigError(config_path + ": the run directory holds another configuration than " + exp.source_path +
                      " (config id " + id + "); use another --name");
  if (log_exists && read_run_log_summary(log_path).state == "done") {
    result.outcome = RunOutcome::AlreadyDone;
    result.steps_done = exp.train.steps;
    return result;
  }
  const bool from_checkpoint = log_exists && file_exists(ckpt_path);

  const std::int64_t total = exp.train.steps;
  Progress progress(opt.run_name, total, 0, !opt.quiet);
  const std::string cache_dir = opt.cache_dir.empty() ? resolved_cache_dir(exp.backbone) : opt.cache_dir;
  const ModelContext models{cache_dir, compute.device, opt.quiet};
  Backbone backbone = load_backbone(exp.backbone, models);
  progress.note(backbone.note);
  const Reward reward = create_reward(exp.reward, backbone, models);
  if (!reward.note.empty()) progress.note(reward.note);
  require_memory(exp, backbone.latents, compute, ranks.world_size);

  // Joined after each rank's own checks and loading, which fail alike on every rank:
  // no rank waits in a collective for one that already stopped.
  std::unique_ptr<ProcessGroup> group;
  if (ranks.distributed()) {
    group = ProcessGroup::join(ranks, compute.device.is_cuda(), std::chrono::seconds(exp.train.dist_timeout_s));
    const double resuming = group->sum({from_checkpoint ? 1.0 : 0.0})[0];
    if (resuming != 0 && resuming != ranks.world_size)
      throw DistributedError("rank " + std::to_string(ranks.rank) + ": the ranks see different states of " + dir +
                             " (a checkpoint on some only): the run directory must be shared by all ranks");
    progress.note("data-parallel: " + std::to_string(ranks.world_size) + " ranks (" + group->backend() + ", " +
                  ranks.launcher + "), global batch " + std::to_string(exp.train.batch) + ", " +
                  std::to_string(exp.train.batch / ranks.world_size) + " per rank");
  }
  if (lead) {
    make_dirs(dir);
    if (!lock.held()) {
      lock.take(dir);
      // Another process may have started this run while this one was loading.
      if (file_exists(log_path) != log_exists)
        throw std::runtime_error(dir + ": another process started this run meanwhile; use --resume or another --name");
    }
  }

  const EvalSuite eval(exp, backbone, reward, compute);
  const Schedule schedule = Schedule::make(static_cast<int>(exp.sampling.steps), exp.sampling.shift_for(exp.sampling.steps));
  const std::vector<std::int64_t> conditions = training_conditions(exp);
  const int max_active = method.max_active(exp.method_params, schedule.steps());

  TrainingState st;
  st.model = backbone.base->clone();
  st.ema = backbone.base->clone();
  st.model->train();
  st.ema->eval();
  for (auto& p : st.ema->parameters()) p.set_requires_grad(false);
  st.optimizer = std::make_unique<torch::optim::AdamW>(
      st.model->parameters(), torch::optim::AdamWOptions(exp.train.lr).weight_decay(exp.train.weight_decay));
  // Rank 0's streams on every rank: each takes its slice of the global batch's draws.
  st.rng = RngStreams::seeded(exp.train.seed, 0);

  std::optional<RunLog> log;
  if (from_checkpoint) {
    load_checkpoint(ckpt_path, st, id);  // every rank, from the shared run directory
    if (lead) {
      log.emplace(RunLog::reopen(log_path, st.step, st.eval_rows));
      log->set_root_attr("world_size", static_cast<std::int64_t>(ranks.world_size));  // may differ from the start's
      log->set_status("running");
    }
    result.resumed_from = st.step;
    progress.note("resuming after step " + std::to_string(st.step) + " from " + ckpt_path);
  } else if (lead) {
    write_file_atomically(config_path, config_text);
    log.emplace(RunLog::create(log_path, make_header(exp, opt, max_active, backbone, eval)));
  }

  StepContext context = step_context(exp);
  context.method = &method;
  context.schedule = &schedule;
  context.latents = backbone.latents;
  context.reward = reward.fn;
  context.conditions = &conditions;
  context.group = group.get();
  context.compute = compute;
  std::int64_t step = st.step;
  try {
    if (group) {
      // Rank 0's weights everywhere, whatever each rank's load produced.
      group->broadcast_from_rank0(tensors_of(*st.model));
      group->broadcast_from_rank0(tensors_of(*st.ema));
    }
    std::vector<double> base_metrics, last_metrics;
    // The sample grid goes in before its /eval row: a log never holds an /eval row
    // without its grid (a kill in between leaves a grid that --resume drops).
    const auto log_eval = [&](std::int64_t at_step, bool is_base, const std::vector<double>& metrics,
                              const at::Tensor& samples) {
      if (!eval.grid_spec().empty()) log->append_samples(at_step, is_base, eval.grid_pixels(samples));
      log->append_eval(eval_row(at_step, is_base, metrics));
    };
    if (lead) {
      at::Tensor samples;
      base_metrics = last_metrics = eval.evaluate(*backbone.base, &samples);
      if (st.eval_rows == 0) {
        log_eval(0, true, base_metrics, samples);
        st.eval_rows = 1;
      }
    } else if (st.eval_rows == 0) {
      st.eval_rows = 1;  // rank 0's count, kept alike so checkpoints agree
    }
    backbone.base.reset();  // the trained copy and the EMA are all a run needs from here
    Progress bar(opt.run_name, total, st.step, !opt.quiet);
    double last_logging = 0;
    for (step = st.step + 1; step <= total; ++step) {
      StepOutcome o = train_step(context, st, step);
      o.record.time_logging = last_logging;
      o.record.time_step += last_logging;
      const auto t_log = Clock::now();
      if (lead) log->append_step(step_row(o.record, max_active));
      last_logging = since(t_log);
      if (!o.failure.empty()) {
        if (lead) {
          log->set_status("failed", o.failure, step);
          log->close();
        }
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
        if (lead) log->close();
        bar.note("stopped after step " + std::to_string(step) + " (--stop-after-step); resume with --resume");
        result.outcome = RunOutcome::Stopped;
        result.steps_done = step;
        result.seconds = since(t_run);
        return result;
      }
      const auto every = [&](std::int64_t n) { return step == total || (n > 0 && step % n == 0); };
      if (every(exp.train.eval_every)) {
        if (lead) {
          at::Tensor samples;
          last_metrics = eval.evaluate(*st.ema, &samples);
          log_eval(step, false, last_metrics, samples);
        }
        ++st.eval_rows;
      }
      if (every(exp.train.checkpoint_every)) {
        if (group) check_same_weights(*group, *st.model, step);
        if (lead) {
          save_checkpoint(ckpt_path, st, id);
          log->set_checkpoint_step(step);
        }
      }
    }
    bar.finish();
    if (lead) {
      if (!opt.dump_weights.empty()) dump_weights(opt.dump_weights, *st.model);
      log->set_status("done");
      log->close();
      bar.note(summary_line(eval.metrics(), base_metrics, last_metrics));
    }
  } catch (const std::exception& e) {
    const std::string reason = std::string("error at step ") + std::to_string(step) + ": " + error_message(e);
    try {
      if (log) {
        log->set_status("failed", reason, step);
        log->close();
      }
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
