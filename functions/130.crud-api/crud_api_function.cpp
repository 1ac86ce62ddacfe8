// 130.crud-api: a shopping cart on the key-value storage (SeBS 130.crud-api, on NoSQL there).
// The cart is one Redis hash: field = product id, value = the item as JSON.
// Input: {"cart": KEY, "requests": [R...]} with R one of
//   {"op": "put", "product_id": P, "name": S, "price_cents": N, "quantity": Q}
//   {"op": "get", "product_id": P}
//   {"op": "query"}                          (the whole cart: count, quantity, total, average)
// Output: {"results": [...]}, one entry per request, in order.
// Phases: writes are "upload", reads "download", the query's arithmetic "compute".
#include <cstdint>
#include <string>

#include "comm/base/json.hpp"
#include "functions/abi/hpcless_function.hpp"

namespace {

using hpcless::fn::Context;
using hpcless::fn::Output;
using hpcless::fn::Phase;
using nlohmann::json;

json put_item(Context& ctx, const std::string& cart, const json& r) {
  const json item = {{"product_id", r.at("product_id").get<std::string>()},
                     {"name", r.at("name").get<std::string>()},
                     {"price_cents", r.at("price_cents").get<int64_t>()},
                     {"quantity", r.at("quantity").get<int64_t>()}};
  {
    Phase p(ctx, HPCLESS_PHASE_UPLOAD);
    ctx.kv_hset(cart, item["product_id"].get<std::string>(), item.dump());
  }
  return {{"op", "put"}, {"product_id", item["product_id"]}, {"ok", true}};
}

json get_item(Context& ctx, const std::string& cart, const json& r) {
  const std::string id = r.at("product_id").get<std::string>();
  std::optional<std::string> v;
  {
    Phase p(ctx, HPCLESS_PHASE_DOWNLOAD);
    v = ctx.kv_hget(cart, id);
  }
  if (!v) return {{"op", "get"}, {"product_id", id}, {"found", false}};
  return {{"op", "get"}, {"product_id", id}, {"found", true}, {"item", json::parse(*v)}};
}

json query_cart(Context& ctx, const std::string& cart) {
  std::vector<std::pair<std::string, std::string>> items;
  {
    Phase p(ctx, HPCLESS_PHASE_DOWNLOAD);
    items = ctx.kv_hgetall(cart);
  }
  Phase p(ctx, HPCLESS_PHASE_COMPUTE);
  int64_t total = 0, quantity = 0, price_sum = 0;
  for (const auto& [id, text] : items) {
    const json item = json::parse(text);
    const int64_t price = item.at("price_cents").get<int64_t>();
    const int64_t q = item.at("quantity").get<int64_t>();
    total += price * q;
    quantity += q;
    price_sum += price;
  }
  const int64_t n = static_cast<int64_t>(items.size());
  return {{"op", "query"},
          {"products", n},
          {"quantity", quantity},
          {"total_cents", total},
          {"avg_price_cents", n == 0 ? 0 : price_sum / n}};
}

int crud_api(Context& ctx, std::span<const std::byte> in, Output& out) {
  const auto j = json::parse(std::string_view(reinterpret_cast<const char*>(in.data()), in.size()),
                             nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("cart") || !j["cart"].is_string() ||
      !j.contains("requests") || !j["requests"].is_array())
    return ctx.fail("130.crud-api: input must be {\"cart\": KEY, \"requests\": [...]}");
  const std::string cart = j["cart"].get<std::string>();
  json results = json::array();
  for (const auto& r : j["requests"]) {
    const std::string op = r.value("op", "");
    if (op == "put")
      results.push_back(put_item(ctx, cart, r));
    else if (op == "get")
      results.push_back(get_item(ctx, cart, r));
    else if (op == "query")
      results.push_back(query_cart(ctx, cart));
    else
      return ctx.fail(("130.crud-api: unknown op '" + op + "' (put, get, query)").c_str());
  }
  return out.append(json{{"results", results}}.dump()) ? 0
                                                       : ctx.fail("130.crud-api: output too large");
}

}  // namespace

HPCLESS_PACKAGE("bench-130-crud-api", HPCLESS_NAMED_FUNCTION("crud_api", crud_api))
