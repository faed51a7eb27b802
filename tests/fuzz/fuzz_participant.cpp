// A configured participant against any answer: the stock adapter the project ships renders any
// branch fields, and its outcome rules map any status and body (JSON or not, deep, huge, broken)
// to an outcome. Never an exception out of the adapter, never a crash; a malformed answer is
// never an acknowledgement unless a rule names it.
//
// Input: two bytes of HTTP status (big-endian), the branch fields as JSON up to a newline, then
// the answer's body.
#include "adapters/participant.hpp"
#include "fuzz_support.hpp"
#include "model/text.hpp"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <stdexcept>

using namespace compensatord;

namespace {

// The shipped adapter's rules (adapters/definitions/stock.yaml), with a form-encoded confirm and
// a templated header so that every place a value can land is rendered.
constexpr const char* kStock = R"(
stock:
  base_url: http://stock.invalid:8080/base
  timeout: 2s
  actions:
    confirm:
      method: PUT
      path: /api/stock/confirm/{{xid}}/{{branch.sku}}
      query: {qty: "{{branch.qty}}", kind: "{{kind}}"}
      headers: {X-Order: "{{xid}}", X-Sku: "{{branch.sku}}"}
      form: {order: "{{xid}}", sku: "{{branch.sku}}"}
      outcomes:
        - {status: [200], json: {code: 0}, then: done}
        - {status: [200], json: {code: 1002, "data.items.0.state": "DONE"}, then: already_done}
        - {status: [404], json: {code: 1001}, then: fatal}
        - {status: ["4xx"], then: fatal}
    cancel:
      method: POST
      path: /api/stock/rollback/{{xid}}
      body: {orderNo: "{{xid}}", sku: "{{branch.sku}}", qty: "{{branch.qty}}", nested: {list: ["{{branch.no}}", 1]}}
      outcomes:
        - {status: [200], json: {code: 0}, then: done}
        - {status: [200], json: {code: 1002}, then: already_done}
        - {status: [404], json: {code: 1001}, then: not_found}
        - {status: [409, "5xx"], json: {"error.code": "LOCKED"}, then: fatal}
)";

// Answers every request at once with the status and body of the current input.
class CannedTransport final : public adapters::HttpTransport {
 public:
  void send(adapters::HttpRequest request, adapters::ResponseHandler done) override {
    FUZZ_REQUIRE(request.url.find_first_of(std::string_view("\r\n \0", 4)) == std::string::npos);
    for (const auto& [name, value] : request.headers) {
      FUZZ_REQUIRE(value.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos);
    }
    adapters::HttpResponse response;
    response.status = status;
    response.body = body;
    done(std::move(response));
  }
  int status = 200;
  std::string body;
};

struct World {
  std::shared_ptr<CannedTransport> transport = std::make_shared<CannedTransport>();
  std::unique_ptr<adapters::Participant> participant;

  World() {
    yaml::ConfigErrors errors;
    const auto specs = adapters::parse_participants(yaml::Reader(YAML::Load(kStock), "participants", errors));
    if (!errors.empty()) throw std::runtime_error(errors.to_string());
    participant = std::make_unique<adapters::Participant>("stock", specs.at("stock"), transport);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static World world;
  if (size < 2) return 0;
  world.transport->status = data[0] << 8 | data[1];
  std::string_view input = fuzz::as_text(data + 2, size - 2);
  const std::string_view fields = fuzz::take_until(input, '\n');
  world.transport->body = std::string(input);
  if (!valid_utf8(fields)) return 0;

  Transaction txn;
  txn.xid = "ORD-1";
  txn.kind = "order";
  Branch branch;
  branch.participant = "stock";
  branch.fields = nlohmann::json::parse(fields, nullptr, false);
  if (!branch.fields.is_object()) branch.fields = nlohmann::json{{"sku", std::string(fields)}, {"qty", 1}};
  for (const Decision action : {Decision::Confirm, Decision::Cancel}) {
    const auto result = world.participant->run(action, txn, branch);
    if (result.outcome == Outcome::Done || result.outcome == Outcome::AlreadyDone ||
        result.outcome == Outcome::NotFound) {
      FUZZ_REQUIRE(result.http_status == world.transport->status);
      FUZZ_REQUIRE(world.transport->status == 200 || world.transport->status == 404);
    }
  }
  return 0;
}
