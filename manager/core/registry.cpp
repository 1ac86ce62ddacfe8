// Registry: loading at start-up, leases (grant, get, renew, release, list) and lease ends.
// Nodes, heartbeats and the reaper are in registry_nodes.cpp.
#include <algorithm>

#include "comm/auth/lease_token.hpp"
#include "comm/base/log.hpp"
#include "manager/core/api_error.hpp"
#include "manager/core/placement.hpp"
#include "manager/core/registry_node_entry.hpp"

namespace hpcless::manager {

using nlohmann::json;

Registry::Registry(StateStore& store, RegistrySettings settings, Metrics& metrics)
    : store_(store), settings_(std::move(settings)), metrics_(metrics) {
  const int64_t now = auth::unix_now_ms();
  const int64_t mono = mono_ms();
  for (auto& n : store_.load_nodes()) {
    auto e = std::make_unique<NodeEntry>();
    const std::vector<int> cores = n.cores;
    e->node = std::move(n);
    e->set_cores(cores);
    if (e->alive()) {
      // A node alive at shutdown gets dead_after_ms from now to send a heartbeat.
      e->node.last_heartbeat_ms = now;
      e->last_heartbeat_mono_ms = mono;
    }
    by_name_[e->node.name] = e.get();
    nodes_.push_back(std::move(e));
  }
  last_node_seq_ = store_.max_node_reg_seq();
  last_lease_seq_ = store_.max_lease_seq();

  // Who holds which core comes from the allocations table: the database is the truth, and the
  // active leases must agree with it.
  size_t owned = 0;
  for (const auto& o : store_.load_allocations()) {
    NodeEntry* n = find_node(o.node);
    if (!n || !n->take(o.core, o.lease_id))
      fail_inconsistent("allocation of core " + std::to_string(o.core) + " on node " + o.node +
                        " to lease " + o.lease_id + " does not match the node's cores");
    ++owned;
  }
  size_t claimed = 0;
  for (auto& l : store_.load_leases(LeaseState::kActive)) {
    for (const auto& a : l.allocations) {
      NodeEntry* n = find_node(a.node);
      if (!n) fail_inconsistent("active lease " + l.id + " is on unknown node " + a.node);
      for (int c : a.cores) {
        auto it = n->pos.find(c);
        if (it == n->pos.end() || n->owner[it->second] != l.id)
          fail_inconsistent("active lease " + l.id + " holds core " + std::to_string(c) +
                            " on node " + a.node + " but the allocations table disagrees");
        ++claimed;
      }
      n->used_memory_mb += a.memory_mb;
      n->leases.insert(l.id);
    }
    active_ids_[l.id] = l.seq;
    const int64_t seq = l.seq;
    active_.emplace(seq, std::move(l));
  }
  if (owned != claimed)
    fail_inconsistent(std::to_string(owned) + " allocated cores but active leases hold " +
                      std::to_string(claimed));

  // Leases whose expiry passed while the manager was down end now; a lease on a node recorded
  // dead cannot be served (that state is impossible unless the file was edited).
  std::vector<Lease> ended;
  {
    sqlite::Transaction tx(store_.db());
    for (const auto& [seq, l] : active_) {
      if (l.expires_at_ms <= now) {
        Lease e = ended_copy(l, LeaseState::kExpired, now, std::nullopt);
        persist_end(e, LedgerKind::kExpire, std::nullopt,
                    {{"expires_at_ms", l.expires_at_ms}, {"while_manager_down", true}});
        ended.push_back(std::move(e));
        continue;
      }
      for (const auto& a : l.allocations) {
        const NodeEntry* n = find_node(a.node);
        if (n && n->alive()) continue;
        std::string reason = "node " + a.node + " was dead when the manager started";
        Lease e = ended_copy(l, LeaseState::kFailed, now, reason);
        persist_end(e, LedgerKind::kFail, a.node, {{"reason", reason}});
        ended.push_back(std::move(e));
        break;
      }
    }
    tx.commit();
  }
  for (auto& e : ended) apply_end(std::move(e));
  log::info("state loaded from '" + store_.db().path() + "': " + std::to_string(nodes_.size()) +
            " nodes, " + std::to_string(active_.size()) + " active leases (" +
            std::to_string(ended.size()) + " ended while the manager was down)");
}

Registry::~Registry() = default;

Registry::NodeEntry* Registry::find_node(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

const Lease* Registry::find_in_memory(const std::string& id) const {
  if (auto it = active_ids_.find(id); it != active_ids_.end()) return &active_.at(it->second);
  if (auto it = ended_.find(id); it != ended_.end()) return &it->second.lease;
  return nullptr;
}

void Registry::fail_inconsistent(const std::string& what) const {
  throw Error("state database '" + store_.db().path() + "' is inconsistent: " + what +
              " (was the file edited by hand? restore it from a backup)");
}

void Registry::sign_tokens(Lease& l) const {
  for (auto& a : l.allocations) {
    auth::LeaseClaims c;
    c.lease_id = l.id;
    c.node = a.node;
    c.cores = a.cores;
    c.memory_mb = a.memory_mb;
    c.expires_at_ms = l.expires_at_ms;
    c.transport = l.transport;
    c.hot_timeout_ms = l.hot_timeout_ms;
    a.token = auth::sign_lease_token(c, settings_.token_secret);
  }
}

Lease Registry::ended_copy(const Lease& l, LeaseState state, int64_t now_ms,
                           std::optional<std::string> reason) const {
  Lease e = l;
  e.state = state;
  e.ended_ms = now_ms;
  e.reason = std::move(reason);
  return e;
}

void Registry::persist_usage_entry(const Lease& l, int64_t now_ms) {
  json allocs = json::array();
  bool all_final = true;
  for (const auto& a : l.allocations) {
    allocs.push_back({{"node", a.node}, {"usage", to_json(a.usage)}, {"final", a.usage_final}});
    all_final = all_final && a.usage_final;
  }
  store_.append_ledger(now_ms, LedgerKind::kUsage, l.id, std::nullopt,
                       {{"usage", to_json(l.usage())},
                        {"allocations", std::move(allocs)},
                        {"final", all_final},
                        {"state", to_string(l.state)}});
}

void Registry::persist_end(const Lease& ended, LedgerKind kind,
                           const std::optional<std::string>& node, json detail) {
  store_.update_lease(ended);
  store_.free_allocations(ended.id);
  store_.append_ledger(*ended.ended_ms, kind, ended.id, node, detail);
  // The figures known when the lease ends; executors' final reports add later entries.
  persist_usage_entry(ended, *ended.ended_ms);
}

void Registry::apply_end(Lease ended) {
  for (const auto& a : ended.allocations) {
    NodeEntry* n = find_node(a.node);
    if (!n) continue;
    for (int c : a.cores) n->give_back(c, ended.id);
    n->used_memory_mb -= std::min(n->used_memory_mb, a.memory_mb);
    n->leases.erase(ended.id);
  }
  active_.erase(ended.seq);
  active_ids_.erase(ended.id);
  cut_notes_.erase(ended.id);
  switch (ended.state) {
    case LeaseState::kReleased:
      metrics_.releases.fetch_add(1);
      break;
    case LeaseState::kExpired:
      metrics_.expiries.fetch_add(1);
      break;
    case LeaseState::kFailed:
      metrics_.failures.fetch_add(1);
      break;
    case LeaseState::kActive:
      break;
  }
  const std::string id = ended.id;
  const int64_t when = ended.ended_ms.value_or(0);
  ended_[id] = Ended{std::move(ended), when};
  ended_order_.push_back(id);
}

void Registry::prune_ended(int64_t now_ms) {
  while (!ended_order_.empty()) {
    auto it = ended_.find(ended_order_.front());
    const bool old =
        it == ended_.end() || now_ms - it->second.ended_ms > settings_.ended_retention_ms;
    if (!old && ended_.size() <= settings_.ended_retention_max) break;
    if (it != ended_.end()) ended_.erase(it);
    ended_order_.pop_front();
  }
}

void Registry::persist_refusal(const LeaseRequest& req, const std::string& reason, int64_t now_ms) {
  sqlite::Transaction tx(store_.db());
  store_.append_ledger(now_ms, LedgerKind::kRefuse, std::nullopt, std::nullopt,
                       {{"request",
                         {{"cores", req.cores},
                          {"memory_mb", req.memory_mb},
                          {"seconds", static_cast<double>(req.duration_ms) / 1000.0},
                          {"transport", req.transport},
                          {"policy", to_string(req.policy)}}},
                        {"reason", reason}});
  tx.commit();
  metrics_.refusals.fetch_add(1);
}

void Registry::record_refusal(const LeaseRequest& req, const std::string& reason) {
  std::lock_guard lk(mu_);
  persist_refusal(req, reason, auth::unix_now_ms());
}

Lease Registry::grant(const LeaseRequest& req, const GrantOptions& opts) {
  std::lock_guard lk(mu_);
  const int64_t now = auth::unix_now_ms();
  const int64_t expires = now + req.duration_ms;

  std::vector<NodeCapacity> eligible;
  size_t no_transport = 0, walltime_short = 0, reserved = 0;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const NodeEntry& n = *nodes_[i];
    if (!n.alive()) continue;
    if (!opts.only_node.empty() ? n.node.name != opts.only_node
                                : reserved_.count(n.node.name) != 0) {
      reserved += opts.only_node.empty() ? 1 : 0;
      continue;
    }
    const auto& tr = n.node.transports;
    if (std::find(tr.begin(), tr.end(), req.transport) == tr.end()) {
      ++no_transport;
      continue;
    }
    if (n.node.walltime_end_ms > 0 && n.node.walltime_end_ms < expires) {
      ++walltime_short;
      continue;
    }
    NodeCapacity c;
    c.index = i;
    c.free_cores = n.free_cores();
    if (n.node.memory_mb > 0) c.free_memory_mb = n.free_memory_mb();
    eligible.push_back(std::move(c));
  }

  Placement p = place({req.cores, req.memory_mb, req.policy}, eligible);
  if (!p.ok()) {
    std::string reason = p.refusal;
    if (no_transport > 0)
      reason += "; " + std::to_string(no_transport) +
                " more alive node(s) do not offer transport '" + req.transport + "'";
    if (walltime_short > 0)
      reason +=
          "; " + std::to_string(walltime_short) +
          " more alive node(s) end their walltime before the lease would; ask for fewer seconds";
    if (reserved > 0)
      reason += "; " + std::to_string(reserved) +
                " more node(s) reserved for on-demand leases being granted";
    if (opts.record_refusal) persist_refusal(req, reason, now);
    throw ApiError(409, reason);
  }

  Lease l;
  l.seq = last_lease_seq_ + 1;
  l.id = lease_id_for(l.seq);
  l.state = LeaseState::kActive;
  l.cores = req.cores;
  l.memory_mb = req.memory_mb;
  l.transport = req.transport;
  l.hot_timeout_ms = req.hot_timeout_ms;
  l.policy = req.policy;
  l.created_ms = now;
  l.expires_at_ms = expires;
  if (opts.on_demand) {
    l.on_demand = opts.on_demand;
    l.on_demand->granted_ms = now;
  }
  json detail_allocs = json::array();
  for (auto& pa : p.allocations) {
    const Node& n = nodes_[pa.index]->node;
    Allocation a;
    a.node = n.name;
    a.address = n.address;
    a.cores = std::move(pa.cores);
    a.memory_mb = pa.memory_mb;
    detail_allocs.push_back({{"node", a.node}, {"cores", a.cores}, {"memory_mb", a.memory_mb}});
    l.allocations.push_back(std::move(a));
  }
  sign_tokens(l);

  {
    sqlite::Transaction tx(store_.db());
    store_.insert_lease(l);
    for (const auto& a : l.allocations) store_.allocate(l.id, a.node, a.cores);
    json detail = {{"cores", l.cores},
                   {"memory_mb", l.memory_mb},
                   {"seconds", static_cast<double>(req.duration_ms) / 1000.0},
                   {"expires_at_ms", l.expires_at_ms},
                   {"transport", l.transport},
                   {"hot_timeout_ms", l.hot_timeout_ms},
                   {"policy", to_string(l.policy)},
                   {"allocations", std::move(detail_allocs)}};
    if (l.on_demand) detail["on_demand"] = to_json(*l.on_demand);
    store_.append_ledger(now, LedgerKind::kGrant, l.id, std::nullopt, detail);
    tx.commit();
  }

  last_lease_seq_ = l.seq;
  for (const auto& a : l.allocations) {
    NodeEntry* n = find_node(a.node);
    for (int c : a.cores)
      HPCLESS_CHECK(n->take(c, l.id), "placement chose a core that is not free");
    n->used_memory_mb += a.memory_mb;
    n->leases.insert(l.id);
  }
  active_ids_[l.id] = l.seq;
  active_.emplace(l.seq, l);
  metrics_.grants.fetch_add(1);
  add_warnings(l, now);
  return l;
}

Lease Registry::get(const std::string& id) const {
  std::lock_guard lk(mu_);
  if (const Lease* l = find_in_memory(id)) {
    Lease out = *l;
    add_warnings(out, auth::unix_now_ms());
    return out;
  }
  if (auto l = store_.find_lease(id)) return *l;
  throw ApiError(404, "lease '" + id + "' not found; list leases with GET /v1/leases");
}

Lease Registry::renew(const std::string& id, int64_t duration_ms) {
  std::lock_guard lk(mu_);
  auto it = active_ids_.find(id);
  if (it == active_ids_.end()) {
    std::optional<Lease> old;
    if (const Lease* l = find_in_memory(id))
      old = *l;
    else
      old = store_.find_lease(id);
    if (!old) throw ApiError(404, "lease '" + id + "' not found; list leases with GET /v1/leases");
    throw ApiError(409, "lease " + id + " is " + to_string(old->state) +
                            "; only active leases can be renewed: request a new lease with "
                            "POST /v1/leases");
  }
  Lease& cur = active_.at(it->second);
  const int64_t now = auth::unix_now_ms();
  const int64_t expires = now + duration_ms;
  for (const auto& a : cur.allocations) {
    const NodeEntry* n = find_node(a.node);
    if (n && n->node.walltime_end_ms > 0 && n->node.walltime_end_ms < expires)
      throw ApiError(
          409, "node " + a.node + " ends its walltime at " +
                   std::to_string(n->node.walltime_end_ms) + " ms; renew for at most " +
                   std::to_string(std::max<int64_t>(0, n->node.walltime_end_ms - now) / 1000) +
                   " seconds");
  }
  Lease upd = cur;
  upd.expires_at_ms = expires;
  sign_tokens(upd);
  {
    sqlite::Transaction tx(store_.db());
    store_.update_lease(upd);
    store_.append_ledger(now, LedgerKind::kRenew, id, std::nullopt,
                         {{"seconds", static_cast<double>(duration_ms) / 1000.0},
                          {"old_expires_at_ms", cur.expires_at_ms},
                          {"expires_at_ms", expires}});
    tx.commit();
  }
  cur = std::move(upd);
  cut_notes_.erase(id);
  Lease out = cur;
  add_warnings(out, now);
  return out;
}

Lease Registry::release(const std::string& id) {
  std::lock_guard lk(mu_);
  auto it = active_ids_.find(id);
  if (it == active_ids_.end()) {
    // Releasing an ended lease is a no-op that answers with the lease as it is.
    if (const Lease* l = find_in_memory(id)) return *l;
    if (auto l = store_.find_lease(id)) return *l;
    throw ApiError(404, "lease '" + id + "' not found; list leases with GET /v1/leases");
  }
  const int64_t now = auth::unix_now_ms();
  Lease e = ended_copy(active_.at(it->second), LeaseState::kReleased, now, std::nullopt);
  {
    sqlite::Transaction tx(store_.db());
    persist_end(e, LedgerKind::kRelease, std::nullopt, json::object());
    tx.commit();
  }
  apply_end(e);
  return e;
}

std::vector<Lease> Registry::leases(std::optional<LeaseState> state, size_t limit) const {
  std::lock_guard lk(mu_);
  if (state == LeaseState::kActive) {
    std::vector<Lease> out;
    const int64_t now = auth::unix_now_ms();
    for (auto it = active_.rbegin(); it != active_.rend() && out.size() < limit; ++it) {
      out.push_back(it->second);
      add_warnings(out.back(), now);
    }
    return out;
  }
  std::vector<Lease> out = store_.list_leases(state, limit);
  // The database has every lease; memory has the freshest usage of the active ones.
  for (auto& l : out)
    if (const Lease* m = find_in_memory(l.id)) l = *m;
  return out;
}

}  // namespace hpcless::manager
