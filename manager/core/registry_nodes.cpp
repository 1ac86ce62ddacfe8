// Registry: node registration, heartbeats (executor reports), node listing, the reaper (expiry and
// dead nodes) and statistics.
#include <algorithm>
#include <map>
#include <set>

#include "comm/auth/lease_token.hpp"
#include "comm/base/log.hpp"
#include "manager/core/api_error.hpp"
#include "manager/core/registry_node_entry.hpp"

namespace hpcless::manager {

using nlohmann::json;

namespace {

std::string join_ints(const std::vector<int>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s;
}

}  // namespace

void Registry::register_node(const NodeRegistration& r) {
  std::unique_lock lk(mu_);
  const int64_t now = auth::unix_now_ms();
  NodeEntry* e = find_node(r.name);

  Node n;
  n.name = r.name;
  n.reg_seq = e ? e->node.reg_seq : last_node_seq_ + 1;  // keeps its place in first-fit order
  n.address = r.address;
  n.cores = r.cores;
  n.memory_mb = r.memory_mb;
  n.transports = r.transports;
  n.walltime_end_ms = r.walltime_end_ms;
  n.state = NodeState::kAlive;
  n.registered_ms = now;
  n.last_heartbeat_ms = now;

  // Registering again while alive keeps the node's active leases, except those holding cores the
  // node no longer offers; a new address is passed on to the leases' allocations.
  std::vector<Lease> ended, readdressed;
  if (e && e->alive()) {
    const std::set<int> offered(r.cores.begin(), r.cores.end());
    for (const auto& id : e->leases) {
      const Lease& l = active_.at(active_ids_.at(id));
      const Allocation* a = l.allocation_on(r.name);
      if (!a) continue;
      std::vector<int> gone;
      for (int c : a->cores)
        if (!offered.count(c)) gone.push_back(c);
      if (!gone.empty()) {
        ended.push_back(
            ended_copy(l, LeaseState::kFailed, now,
                       "node " + r.name + " registered again without core(s) " + join_ints(gone)));
      } else if (a->address != r.address) {
        Lease upd = l;
        upd.allocation_on(r.name)->address = r.address;
        readdressed.push_back(std::move(upd));
      }
    }
  }

  {
    sqlite::Transaction tx(store_.db());
    store_.upsert_node(n);
    for (const auto& l : ended) persist_end(l, LedgerKind::kFail, r.name, {{"reason", *l.reason}});
    for (const auto& l : readdressed) store_.update_lease(l);
    store_.append_ledger(now, LedgerKind::kNodeRegister, std::nullopt, r.name,
                         {{"address", n.address},
                          {"cores", n.cores},
                          {"memory_mb", n.memory_mb},
                          {"transports", n.transports},
                          {"walltime_end_ms", n.walltime_end_ms},
                          {"previous_state", e ? json(to_string(e->node.state)) : json(nullptr)}});
    tx.commit();
  }

  for (auto& l : ended) apply_end(std::move(l));
  for (auto& l : readdressed) active_.at(l.seq) = std::move(l);
  if (!e) {
    auto fresh = std::make_unique<NodeEntry>();
    e = fresh.get();
    by_name_[r.name] = e;
    nodes_.push_back(std::move(fresh));
    last_node_seq_ = n.reg_seq;
  }
  e->node = std::move(n);
  e->set_cores(r.cores);
  e->last_heartbeat_mono_ms = mono_ms();
  log::info("node " + r.name + " registered at " + r.address + " with " +
            std::to_string(r.cores.size()) + " cores");
  lk.unlock();
  if (on_register_) on_register_(r);
}

void Registry::set_registration_listener(std::function<void(const NodeRegistration&)> listener) {
  std::lock_guard lk(mu_);
  on_register_ = std::move(listener);
}

void Registry::reserve_node(const std::string& name) {
  std::lock_guard lk(mu_);
  reserved_.insert(name);
}

void Registry::unreserve_node(const std::string& name) {
  std::lock_guard lk(mu_);
  reserved_.erase(name);
}

void Registry::append_ledger(LedgerKind kind, const std::optional<std::string>& lease_id,
                             const std::optional<std::string>& node, const json& detail) {
  std::lock_guard lk(mu_);
  sqlite::Transaction tx(store_.db());
  store_.append_ledger(auth::unix_now_ms(), kind, lease_id, node, detail);
  tx.commit();
}

void Registry::deregister_node(const std::string& name, bool even_if_reserved) {
  std::lock_guard lk(mu_);
  NodeEntry* e = find_node(name);
  if (!e) throw ApiError(404, "node '" + name + "' is not registered");
  if (!e->alive()) return;  // leaving twice is a no-op
  if (!e->leases.empty())
    throw ApiError(409, "node " + name + " holds active lease(s) (" + *e->leases.begin() +
                            (e->leases.size() > 1 ? ", ..." : "") +
                            "); it stays registered until they end");
  if (!even_if_reserved && reserved_.count(name) != 0)
    throw ApiError(409,
                   "node " + name + " is reserved for an on-demand lease being granted; it stays");
  const int64_t now = auth::unix_now_ms();
  {
    sqlite::Transaction tx(store_.db());
    store_.set_node_state(name, NodeState::kDead);
    store_.append_ledger(now, LedgerKind::kNodeDead, std::nullopt, name,
                         {{"last_heartbeat_ms", e->node.last_heartbeat_ms},
                          {"deregistered", true},
                          {"failed_leases", json::array()}});
    tx.commit();
  }
  e->node.state = NodeState::kDead;
  log::info("node " + name + " deregistered by its executor");
}

json Registry::heartbeat(const std::string& name, const Heartbeat& hb) {
  const std::vector<LeaseReport>& reports = hb.reports;
  std::lock_guard lk(mu_);
  NodeEntry* e = find_node(name);
  if (!e)
    throw ApiError(404, "node '" + name + "' is not registered; register it with POST /v1/nodes");
  if (!e->alive())
    throw ApiError(404, "node '" + name + "' was declared dead after " +
                            std::to_string(settings_.dead_after_ms) +
                            " ms without a heartbeat; register it again with POST /v1/nodes");
  const int64_t now = auth::unix_now_ms();
  e->last_heartbeat_mono_ms = mono_ms();
  e->node.last_heartbeat_ms = now;

  // The last report for an id wins.
  std::map<std::string, const LeaseReport*> latest;
  for (const auto& r : reports) latest[r.id] = &r;

  std::vector<Lease> usage_updates, ended_now, final_reports;
  for (const auto& [id, r] : latest) {
    if (auto it = active_ids_.find(id); it != active_ids_.end()) {
      const Lease& l = active_.at(it->second);
      const Allocation* a = l.allocation_on(name);
      if (!a) continue;  // not this node's lease: ignore the report
      if (r->state == LeaseReport::State::kRunning) {
        if (r->usage && *r->usage != a->usage) {
          Lease upd = l;
          upd.allocation_on(name)->usage = *r->usage;
          usage_updates.push_back(std::move(upd));
        }
        continue;
      }
      // The executor's worker for an active lease failed or stopped: the lease cannot be served.
      std::string reason = "node " + name + ": ";
      if (r->state == LeaseReport::State::kFailed)
        reason += r->reason.value_or("worker failed");
      else
        reason += "worker stopped while the lease was active" +
                  (r->reason ? " (" + *r->reason + ")" : std::string());
      Lease upd = ended_copy(l, LeaseState::kFailed, now, reason);
      Allocation* ua = upd.allocation_on(name);
      if (r->usage) ua->usage = *r->usage;
      ua->usage_final = true;
      ended_now.push_back(std::move(upd));
    } else if (auto et = ended_.find(id); et != ended_.end()) {
      // A lease that ended here: the executor's final figures once it stopped the worker.
      const Lease& l = et->second.lease;
      const Allocation* a = l.allocation_on(name);
      if (!a || a->usage_final || r->state == LeaseReport::State::kRunning) continue;
      Lease upd = l;
      Allocation* ua = upd.allocation_on(name);
      if (r->usage) ua->usage = *r->usage;
      ua->usage_final = true;
      final_reports.push_back(std::move(upd));
    }
  }

  if (!usage_updates.empty() || !ended_now.empty() || !final_reports.empty()) {
    sqlite::Transaction tx(store_.db());
    for (const auto& l : usage_updates) store_.update_lease(l);
    for (const auto& l : ended_now)
      persist_end(l, LedgerKind::kFail, name, {{"reason", *l.reason}});
    for (const auto& l : final_reports) {
      store_.update_lease(l);
      persist_usage_entry(l, now);
    }
    tx.commit();
    for (auto& l : usage_updates) active_.at(l.seq) = std::move(l);
    for (auto& l : ended_now) {
      log::warn("lease " + l.id + " failed: " + *l.reason);
      apply_end(std::move(l));
    }
    for (auto& l : final_reports) ended_.at(l.id).lease = std::move(l);
  }

  if (hb.leaving) {
    node_leaves(*e, *hb.leaving, now);
    return {{"leases", json::array()}};
  }
  if (hb.walltime_end_ms && *hb.walltime_end_ms != e->node.walltime_end_ms)
    cut_to_walltime(*e, *hb.walltime_end_ms, now);

  json leases = json::array();
  for (const auto& id : e->leases) {
    const Lease& l = active_.at(active_ids_.at(id));
    const Allocation* a = l.allocation_on(name);
    leases.push_back({{"id", l.id},
                      {"cores", a->cores},
                      {"memory_mb", a->memory_mb},
                      {"expires_at_ms", l.expires_at_ms},
                      {"hot_timeout_ms", l.hot_timeout_ms},
                      {"transport", l.transport},
                      {"token", a->token}});
  }
  return {{"leases", std::move(leases)}};
}

void Registry::cut_to_walltime(NodeEntry& n, int64_t walltime_end_ms, int64_t now_ms) {
  const int64_t old_end = n.node.walltime_end_ms;
  std::vector<Lease> cut;
  if (walltime_end_ms > 0) {
    for (const auto& id : n.leases) {
      const Lease& l = active_.at(active_ids_.at(id));
      if (l.expires_at_ms <= walltime_end_ms) continue;
      Lease upd = l;
      upd.expires_at_ms = std::max(now_ms, walltime_end_ms);
      sign_tokens(upd);
      cut.push_back(std::move(upd));
    }
  }
  Node updated = n.node;
  updated.walltime_end_ms = walltime_end_ms;
  {
    sqlite::Transaction tx(store_.db());
    store_.upsert_node(updated);
    store_.append_ledger(now_ms, LedgerKind::kNodeWalltime, std::nullopt, n.node.name,
                         {{"old_walltime_end_ms", old_end}, {"walltime_end_ms", walltime_end_ms}});
    for (const auto& l : cut) {
      store_.update_lease(l);
      store_.append_ledger(now_ms, LedgerKind::kCut, l.id, n.node.name,
                           {{"old_expires_at_ms", active_.at(l.seq).expires_at_ms},
                            {"expires_at_ms", l.expires_at_ms},
                            {"reason", "the node's batch job ends sooner"}});
    }
    tx.commit();
  }
  n.node.walltime_end_ms = walltime_end_ms;
  for (auto& l : cut) {
    cut_notes_[l.id] = "lease cut short from " + std::to_string(active_.at(l.seq).expires_at_ms) +
                       " to " + std::to_string(l.expires_at_ms) + " (Unix ms): node " +
                       n.node.name + "'s batch job now ends sooner";
    log::warn("lease " + l.id + ": " + cut_notes_[l.id]);
    active_.at(l.seq) = std::move(l);
  }
}

void Registry::node_leaves(NodeEntry& n, const std::string& reason, int64_t now_ms) {
  const std::string why = "node " + n.node.name + " left: " + reason;
  std::vector<Lease> ended;
  json failed = json::array();
  {
    sqlite::Transaction tx(store_.db());
    for (const auto& id : n.leases) {
      Lease e = ended_copy(active_.at(active_ids_.at(id)), LeaseState::kFailed, now_ms, why);
      persist_end(e, LedgerKind::kFail, n.node.name, {{"reason", why}});
      failed.push_back(id);
      ended.push_back(std::move(e));
    }
    store_.set_node_state(n.node.name, NodeState::kDead);
    store_.append_ledger(now_ms, LedgerKind::kNodeLeave, std::nullopt, n.node.name,
                         {{"reason", reason}, {"failed_leases", std::move(failed)}});
    tx.commit();
  }
  for (auto& e : ended) {
    log::warn("lease " + e.id + " failed: " + *e.reason);
    apply_end(std::move(e));
  }
  n.node.state = NodeState::kDead;
  log::info(why);
}

void Registry::add_warnings(Lease& l, int64_t now_ms) const {
  if (l.state != LeaseState::kActive) return;
  l.warnings.clear();
  if (auto it = cut_notes_.find(l.id); it != cut_notes_.end()) l.warnings.push_back(it->second);
  for (const auto& a : l.allocations) {
    const NodeEntry* n = find_node(a.node);
    if (!n || n->node.walltime_end_ms <= 0) continue;
    const int64_t left = n->node.walltime_end_ms - now_ms;
    if (left > settings_.walltime_warning_ms) continue;
    l.warnings.push_back("node " + a.node + "'s batch job ends in " +
                         std::to_string(std::max<int64_t>(0, left) / 1000) +
                         " s: the lease cannot be renewed past it; move work elsewhere");
  }
}

std::vector<NodeView> Registry::nodes() const {
  std::lock_guard lk(mu_);
  std::vector<NodeView> out;
  out.reserve(nodes_.size());
  for (const auto& e : nodes_) {
    NodeView v;
    v.node = e->node;
    if (e->alive()) {
      v.free_cores = e->free_cores();
      v.free_memory_mb = e->free_memory_mb();
    }
    v.leases.assign(e->leases.begin(), e->leases.end());
    out.push_back(std::move(v));
  }
  return out;
}

int64_t Registry::reap(int64_t max_wait_ms) {
  std::lock_guard lk(mu_);
  const int64_t now = auth::unix_now_ms();
  const int64_t mono = mono_ms();

  std::vector<const Lease*> expiring;
  for (const auto& [seq, l] : active_)
    if (l.expires_at_ms <= now) expiring.push_back(&l);
  std::vector<NodeEntry*> dying;
  for (const auto& n : nodes_)
    if (n->alive() && mono - n->last_heartbeat_mono_ms >= settings_.dead_after_ms)
      dying.push_back(n.get());

  if (!expiring.empty() || !dying.empty()) {
    std::vector<Lease> ended;
    std::set<std::string> ending;
    {
      sqlite::Transaction tx(store_.db());
      // Expiries first: a lease that reached its expiry before its node died simply expired.
      for (const Lease* l : expiring) {
        Lease e = ended_copy(*l, LeaseState::kExpired, now, std::nullopt);
        persist_end(e, LedgerKind::kExpire, std::nullopt, {{"expires_at_ms", l->expires_at_ms}});
        ending.insert(e.id);
        ended.push_back(std::move(e));
      }
      for (NodeEntry* n : dying) {
        const std::string reason = "node " + n->node.name + " missed heartbeats";
        json failed = json::array();
        for (const auto& id : n->leases) {
          if (!ending.insert(id).second) continue;
          Lease e = ended_copy(active_.at(active_ids_.at(id)), LeaseState::kFailed, now, reason);
          persist_end(e, LedgerKind::kFail, n->node.name, {{"reason", reason}});
          failed.push_back(id);
          ended.push_back(std::move(e));
        }
        store_.set_node_state(n->node.name, NodeState::kDead);
        store_.append_ledger(now, LedgerKind::kNodeDead, std::nullopt, n->node.name,
                             {{"last_heartbeat_ms", n->node.last_heartbeat_ms},
                              {"dead_after_ms", settings_.dead_after_ms},
                              {"failed_leases", std::move(failed)}});
      }
      tx.commit();
    }
    for (auto& e : ended) {
      if (e.state == LeaseState::kFailed) log::warn("lease " + e.id + " failed: " + *e.reason);
      apply_end(std::move(e));
    }
    for (NodeEntry* n : dying) {
      n->node.state = NodeState::kDead;
      log::warn("node " + n->node.name + " declared dead: no heartbeat for " +
                std::to_string(mono - n->last_heartbeat_mono_ms) + " ms");
    }
  }
  prune_ended(now);

  int64_t wait = max_wait_ms;
  for (const auto& [seq, l] : active_) wait = std::min(wait, l.expires_at_ms - now);
  for (const auto& n : nodes_)
    if (n->alive())
      wait = std::min(wait, n->last_heartbeat_mono_ms + settings_.dead_after_ms - mono);
  return std::max<int64_t>(wait, 0);
}

RegistryStats Registry::stats() const {
  std::lock_guard lk(mu_);
  RegistryStats s;
  for (const auto& n : nodes_) {
    if (n->alive()) {
      ++s.nodes_alive;
      s.cores_free += n->free;
    } else {
      ++s.nodes_dead;
    }
    s.cores_leased += n->owner.size() - n->free;
  }
  s.leases_active = active_.size();
  return s;
}

}  // namespace hpcless::manager
