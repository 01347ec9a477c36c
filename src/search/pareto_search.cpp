// The whole state of the policy is recomputed from the tree on every call: the rounds are
// replayed in order, each proposal is the first knob set of that replay the tree does not
// hold yet. That costs a walk over at most a few hundred nodes per step (lowering for the
// resource axes is remembered by the probe), and buys resume-safety and reuse for free.
#include "search/pareto_search.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "core/error.h"
#include "search/pareto_front.h"

namespace tessera {

namespace {

// A node may stand in a front, or be composed on, only when its cost can be compared with
// the reference (the base, or the incumbent): same cost kind.
bool ok(const TreeNode& n) { return n.status == CandidateStatus::Ok; }

// a beats b: a is ok and, where b has a cost, faster on the same kind beyond the noise.
bool beats(const TreeNode& a, const TreeNode& b) {
  if (!ok(a)) return false;
  if (!ok(b)) return true;
  return a.cost_kind == b.cost_kind && faster_beyond_noise(a.cost_s, a.spread, a.cost_kind, b.cost_s, b.spread, b.cost_kind);
}

std::vector<KnobSet> joint_values(const std::vector<const KnobDim*>& dims) {
  std::vector<KnobSet> out{KnobSet{}};
  for (const KnobDim* d : dims) {
    std::vector<KnobSet> next;
    for (const KnobSet& partial : out)
      for (const std::string& v : d->values) {
        KnobSet k = partial;
        k[d->key] = v;
        next.push_back(std::move(k));
      }
    out = std::move(next);
  }
  return out;
}

KnobSet with_values(KnobSet k, const KnobSet& values) {
  for (const auto& [key, v] : values) k[key] = v;
  return k;
}

nlohmann::json changed_json(const KnobSet& from, const KnobSet& to) {
  nlohmann::json changed = nlohmann::json::object();
  for (const auto& [k, v] : to)
    if (!from.count(k) || from.at(k) != v) changed[k] = v;
  return changed;
}

std::vector<double> axes_of(const ResourceUse& u, const std::string& kind) {
  auto it = u.kind_blocks.find(kind);
  return {double(u.smem_bytes), double(u.regs_per_thread), double(u.blocks),
          double(it != u.kind_blocks.end() ? it->second : u.blocks)};
}

struct KindPlan {
  const InstructionKind* kind;
  std::vector<const KnobDim*> dims;
  std::vector<KnobSet> variations;  // the base first is not assumed; the base's own is among them
};

class Replay {
 public:
  Replay(const SearchTree& tree, const PolicyContext& ctx, const ParetoSettings& s) : tree_(tree), ctx_(ctx), s_(s) {
    for (int64_t id : tree.ids()) {
      const TreeNode& n = tree.node(id);
      if (n.has_knobs) by_knobs_.emplace(knob_set_text(n.knobs), id);  // the first keeps its place
    }
    for (const InstructionKind& k : instruction_kinds()) {
      KindPlan kp{&k, {}, {}};
      for (const std::string& key : k.knobs)
        for (const KnobDim& d : ctx.space->dims())
          if (d.key == key && d.values.size() > 1) kp.dims.push_back(&d);
      if (kp.dims.empty()) continue;
      kp.variations = joint_values(kp.dims);
      kinds_.push_back(std::move(kp));
    }
  }

  ParetoProgress run() {
    ParetoProgress out;
    auto root = tree_.root();
    if (!root) return out;
    if (!tree_.node(*root).has_knobs) fail("pareto policy: the root candidate {} is a whole plan, not a knob set", *root);
    int64_t base = *root;
    // Each new round starts from a node that beat the last base, so rounds are bounded by
    // the tree's size; the guard only protects against a broken invariant.
    for (size_t guard = 0; guard <= tree_.size(); ++guard) {
      ParetoRound r;
      r.base = base;
      r.result = base;
      out.next = round(r, int(out.rounds.size()));
      out.rounds.push_back(r);
      if (out.next || !r.done || r.result == base) return out;
      base = r.result;
    }
    fail("pareto policy: rounds do not converge (the tree has {} nodes)", tree_.size());
  }

 private:
  std::optional<int64_t> find(const KnobSet& k) const {
    auto it = by_knobs_.find(knob_set_text(k));
    if (it == by_knobs_.end()) return std::nullopt;
    return it->second;
  }

  std::optional<Proposal> round(ParetoRound& r, int index) {
    const TreeNode& base = tree_.node(r.base);
    // 1. Every kind's variations around the base, the kinds taking turns.
    size_t longest = 0;
    for (const KindPlan& kp : kinds_) longest = std::max(longest, kp.variations.size());
    for (size_t j = 0; j < longest; ++j)
      for (const KindPlan& kp : kinds_) {
        if (j >= kp.variations.size()) continue;
        KnobSet k = with_values(base.knobs, kp.variations[j]);
        if (find(k)) continue;
        Proposal p;
        p.parent = r.base;
        p.op = "pareto-kind:" + kp.kind->name;
        p.op_params = {{"kind", kp.kind->name}, {"round", index}, {"base", r.base}, {"changed", changed_json(base.knobs, k)}};
        p.knobs = std::move(k);
        for (const KindPlan& other : kinds_) r.kinds.push_back(front_of(other, base, false));
        return p;
      }
    r.fronts_done = true;
    for (const KindPlan& kp : kinds_) r.kinds.push_back(front_of(kp, base, true));

    // 2. Compose: kinds by their best member's gain over the base, members fastest first.
    std::vector<std::pair<const KindFront*, std::vector<const ParetoMember*>>> moves;
    for (const KindFront& f : r.kinds) {
      std::vector<const ParetoMember*> better;
      for (const ParetoMember& m : f.front)
        if (m.id != r.base && beats_base(f, m, base)) better.push_back(&m);
      if (better.size() > size_t(s_.tries_per_kind)) better.resize(size_t(s_.tries_per_kind));
      if (!better.empty()) moves.push_back({&f, std::move(better)});
    }
    std::stable_sort(moves.begin(), moves.end(),
                     [](const auto& a, const auto& b) { return a.second.front()->cost_s < b.second.front()->cost_s; });
    for (const auto& [front, members] : moves) {
      for (const ParetoMember* m : members) {
        const TreeNode& inc = tree_.node(r.result);
        KnobSet k = with_values(inc.knobs, m->values);
        if (k == inc.knobs) continue;
        auto id = find(k);
        if (!id) {
          Proposal p;
          p.parent = r.result;
          p.op = "pareto-compose";
          p.op_params = {{"kind", front->kind}, {"round", index}, {"member", m->id},
                         {"incumbent", r.result}, {"changed", changed_json(inc.knobs, k)}};
          p.knobs = std::move(k);
          return p;
        }
        r.compositions.push_back(*id);
        if (beats(tree_.node(*id), inc)) {
          r.result = *id;
          break;
        }
      }
    }
    r.done = true;
    return std::nullopt;
  }

  // The kind's evaluated variations around the base; with `complete`, its members and front.
  KindFront front_of(const KindPlan& kp, const TreeNode& base, bool complete) {
    KindFront f;
    f.kind = kp.kind->name;
    for (const KnobDim* d : kp.dims) f.knobs.push_back(d->key);
    f.variations = int64_t(kp.variations.size());
    std::vector<int64_t> ids;
    for (const KnobSet& v : kp.variations)
      if (auto id = find(with_values(base.knobs, v))) {
        f.evaluated += 1;
        ids.push_back(*id);
      }
    if (!complete) return f;
    // The cost kind every member must share: the base's, or (a failed base) the first ok one's.
    CostKind kind = ok(base) ? base.cost_kind : CostKind::None;
    for (int64_t id : ids) {
      const TreeNode& n = tree_.node(id);
      if (!ok(n)) continue;
      if (kind == CostKind::None) kind = n.cost_kind;
      if (n.cost_kind != kind) continue;
      ParetoMember m;
      m.id = id;
      m.cost_s = n.cost_s;
      try {
        m.resources = axes_of(ctx_.resources(n.knobs), f.kind);
      } catch (const Error&) {
        continue;  // it passed the ladder, so it lowers; a probe that cannot tell leaves it out
      }
      for (const std::string& key : f.knobs) m.values[key] = n.knobs.at(key);
      f.members.push_back(std::move(m));
    }
    // The kind's own time where every member (and an ok base) has it, else the whole step.
    auto has_time = [&](const TreeNode& n) { return n.kinds.count(f.kind) > 0; };
    bool own = s_.own_time && (!ok(base) || has_time(base));
    for (const ParetoMember& m : f.members) own = own && has_time(tree_.node(m.id));
    f.axis = own ? "kind" : "step";
    for (ParetoMember& m : f.members) {
      const TreeNode& n = tree_.node(m.id);
      m.time = own ? n.kinds.at(f.kind) : KindTime{n.cost_s, n.spread};
    }
    std::vector<FrontPoint> points;
    for (const ParetoMember& m : f.members) points.push_back({m.time.s, m.resources});
    for (size_t i : pareto_front(points)) f.front.push_back(f.members[i]);
    return f;
  }

  // Whether front member m beats the base on the front's time axis (beyond the noise).
  bool beats_base(const KindFront& f, const ParetoMember& m, const TreeNode& base) const {
    const TreeNode& n = tree_.node(m.id);
    if (f.axis != "kind") return beats(n, base);
    if (!ok(n)) return false;
    if (!ok(base)) return true;
    const KindTime& b = base.kinds.at(f.kind);
    return n.cost_kind == base.cost_kind &&
           faster_beyond_noise(m.time.s, m.time.spread, n.cost_kind, b.s, b.spread, base.cost_kind);
  }

  const SearchTree& tree_;
  const PolicyContext& ctx_;
  const ParetoSettings& s_;
  std::map<std::string, int64_t> by_knobs_;
  std::vector<KindPlan> kinds_;
};

}  // namespace

const std::vector<std::string>& pareto_axes() {
  static const std::vector<std::string> axes = {"smem_bytes_per_block", "regs_per_thread", "blocks", "kind_blocks"};
  return axes;
}

ParetoProgress pareto_progress(const SearchTree& tree, const PolicyContext& ctx, const ParetoSettings& s) {
  if (!ctx.space) fail("pareto policy: no knob space given (the tuner and the sweep give one)");
  if (!ctx.resources) fail("pareto policy: no resource probe given (the tuner and the sweep give one)");
  return Replay(tree, ctx, s).run();
}

}  // namespace tessera
