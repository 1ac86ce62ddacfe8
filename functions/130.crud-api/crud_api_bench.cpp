// 130.crud-api, client side: seeds the cart, builds the requests, validates every answer.
//
// SeBS's classes are one GET (test), a cart query over 4 items (small) and 5 x (PUT + GET)
// (large). Here every class runs all three operations and the classes grow the cart and the
// number of requests: test = cart of 4 + 1 put, 2 gets, 1 query; small = 20 + 10 puts, 10 gets,
// 1 query; large = 1000 + 100 puts, 100 gets, 1 query. Puts write the same items every time, so
// repeated invocations see the same cart and the expected answers never change.
#include <cstdio>
#include <map>
#include <string>

#include "comm/base/json.hpp"
#include "comm/storage/redis_client.hpp"
#include "functions/bench/all_benchmarks.hpp"
#include "functions/bench/bench_util.hpp"
#include "functions/bench/det_rng.hpp"

namespace hpcless::bench {

namespace {

using nlohmann::json;

constexpr const char* kName = "130.crud-api";

struct Shape {
  int seeded, puts, gets;
};

Shape shape(SizeClass s) {
  return by_size_class<Shape>(s, {4, 1, 2}, {20, 10, 10}, {1000, 100, 100});
}

json make_item(int index, DetRng& rng) {
  char id[16];
  std::snprintf(id, sizeof(id), "p%05d", index);
  return {{"product_id", id},
          {"name", "Product " + std::to_string(index)},
          {"price_cents", static_cast<int64_t>(99 + rng.below(100'000))},
          {"quantity", static_cast<int64_t>(1 + rng.below(9))}};
}

}  // namespace

void register_130(Registry& r) {
  r.add(benchmark_spec(
      kName, "crud_api", "shopping cart on Redis: put items, get items, query the cart total",
      Storage::kNeeded,
      [](SizeClass size, const StorageAccess& st) {
        require_redis(st, kName);
        const Shape sh = shape(size);
        const std::string cart = "hpcless:bench:130:" + std::string(to_string(size)) + ":cart";
        DetRng rng(0x130 + static_cast<uint64_t>(size));
        std::map<std::string, json> model;  // the cart after an invocation
        st.redis->del(cart);
        for (int i = 0; i < sh.seeded; ++i) {
          json item = make_item(i, rng);
          st.redis->hset(cart, item["product_id"].get<std::string>(), item.dump());
          model[item["product_id"].get<std::string>()] = item;
        }
        json requests = json::array(), results = json::array();
        for (int i = 0; i < sh.puts; ++i) {
          json item = make_item(sh.seeded + i, rng);
          json req = item;
          req["op"] = "put";
          requests.push_back(req);
          results.push_back({{"op", "put"}, {"product_id", item["product_id"]}, {"ok", true}});
          model[item["product_id"].get<std::string>()] = item;
        }
        const int total_items = sh.seeded + sh.puts;
        for (int i = 0; i < sh.gets; ++i) {
          // Spread over seeded and freshly put items (the last get reads the last put one).
          const int index = i + 1 == sh.gets
                                ? total_items - 1
                                : static_cast<int>(rng.below(static_cast<uint64_t>(total_items)));
          char id[16];
          std::snprintf(id, sizeof(id), "p%05d", index);
          requests.push_back({{"op", "get"}, {"product_id", id}});
          results.push_back(
              {{"op", "get"}, {"product_id", id}, {"found", true}, {"item", model[id]}});
        }
        int64_t total = 0, quantity = 0, price_sum = 0;
        for (const auto& [id, item] : model) {
          total += item["price_cents"].get<int64_t>() * item["quantity"].get<int64_t>();
          quantity += item["quantity"].get<int64_t>();
          price_sum += item["price_cents"].get<int64_t>();
        }
        const auto n = static_cast<int64_t>(model.size());
        requests.push_back({{"op", "query"}});
        results.push_back({{"op", "query"},
                           {"products", n},
                           {"quantity", quantity},
                           {"total_cents", total},
                           {"avg_price_cents", n == 0 ? 0 : price_sum / n}});
        PreparedInput in;
        in.payload = json{{"cart", cart}, {"requests", requests}}.dump();
        in.expected = json{{"results", results}}.dump();
        return in;
      },
      [](SizeClass, const PreparedInput& in, std::span<const std::byte> output,
         const StorageAccess&) {
        json got;
        std::string why;
        if (!parse_json_output(output, got, why)) return invalid(why);
        const json want = json::parse(in.expected);
        if (!got.contains("results") || !got["results"].is_array())
          return invalid("output has no results array: " + excerpt(as_text(output)));
        const auto& g = got["results"];
        const auto& w = want["results"];
        if (g.size() != w.size())
          return invalid(std::to_string(g.size()) + " results for " + std::to_string(w.size()) +
                         " requests");
        for (size_t i = 0; i < w.size(); ++i)
          if (g[i] != w[i])
            return invalid("result " + std::to_string(i) + " (" + w[i].value("op", "") + ") is " +
                           excerpt(g[i].dump(), 200) + ", expected " + excerpt(w[i].dump(), 200));
        return valid();
      }));
}

}  // namespace hpcless::bench
