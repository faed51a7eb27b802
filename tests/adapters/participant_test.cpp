#include "adapters/participant.hpp"

#include "adapters/participant_spec.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <utility>

namespace compensatord::adapters {
namespace {

using testing::make_branch;
using testing::make_txn;

// Records every request and answers with `reply` (a canned 200 {"code":0} by default).
class FakeTransport : public HttpTransport {
 public:
  void send(HttpRequest request, ResponseHandler done) override {
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(request);
    }
    done(reply ? reply(request) : HttpResponse{200, R"({"code":0})", ""});
  }

  std::vector<HttpRequest> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }

  std::function<HttpResponse(const HttpRequest&)> reply;

 private:
  mutable std::mutex mutex_;
  std::vector<HttpRequest> requests_;
};

const char* const kStock = R"(
base_url: http://stock.legacy:8080
timeout: 2s
headers: {Authorization: "Bearer secret-token", X-Client: compensatord}
actions:
  cancel:
    method: POST
    path: /api/stock/rollback/{{xid}}
    query: {order: "{{xid}}", sku: "{{branch.sku}}", token: hunter2}
    headers: {X-Client: "branch-{{branch.no}}"}
    body: {orderNo: "{{xid}}", sku: "{{branch.sku}}", qty: "{{branch.qty}}", meta: {kind: "{{kind}}"}}
    outcomes:
      - {status: [200], json: {code: 0}, then: done}
      - {status: [200], json: {code: 1002}, then: already_done}
      - {status: [404], json: {code: 1001}, then: not_found}
      - {status: [400, 409, 422], then: fatal}
      - {status: [429], then: retry}
)";

std::shared_ptr<const ParticipantSpec> spec_from(const std::string& yaml) {
  auto parsed = testing::parse_spec(yaml);
  EXPECT_TRUE(parsed->spec) << parsed->errors.to_string();
  return parsed->spec;
}

std::string header(const HttpRequest& request, std::string_view name) {
  for (const auto& [n, v] : request.headers) {
    if (n == name) return v;
  }
  return "<absent>";
}

// The parts of a request an injected value could change: path segments, query keys, JSON keys.
struct Shape {
  std::size_t path_segments = 0;
  std::set<std::string> query_keys;
  std::vector<std::string> json_keys;
  std::vector<std::string> header_names;
};

Shape shape_of(const HttpRequest& request) {
  Shape s;
  std::string url = request.url.substr(std::string("http://stock.legacy:8080").size());
  std::string path = url.substr(0, url.find('?'));
  s.path_segments = static_cast<std::size_t>(std::count(path.begin(), path.end(), '/'));
  EXPECT_EQ(url.find('#'), std::string::npos);
  std::string query = url.find('?') == std::string::npos ? "" : url.substr(url.find('?') + 1);
  std::size_t start = 0;
  while (start <= query.size() && !query.empty()) {
    std::size_t amp = query.find('&', start);
    std::string pair = query.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
    s.query_keys.insert(pair.substr(0, pair.find('=')));
    EXPECT_EQ(std::count(pair.begin(), pair.end(), '='), 1) << pair;
    if (amp == std::string::npos) break;
    start = amp + 1;
  }
  auto body = nlohmann::json::parse(request.body);
  for (const auto& [key, value] : body.items()) s.json_keys.push_back(key);
  for (const auto& [name, value] : request.headers) s.header_names.push_back(name);
  return s;
}

TEST(Participant, SendsTheRenderedRequest) {
  auto transport = std::make_shared<FakeTransport>();
  Participant stock("stock", spec_from(kStock), transport);
  auto txn = make_txn("ORD-1");
  auto branch = make_branch({{"sku", "A-1"}, {"qty", 2}}, 1);
  auto result = stock.run(Decision::Cancel, txn, branch);
  EXPECT_EQ(result.outcome, Outcome::Done);
  EXPECT_EQ(result.http_status, 200);
  EXPECT_TRUE(result.error.empty()) << result.error;
  EXPECT_FALSE(result.skipped);
  ASSERT_EQ(transport->requests().size(), 1u);
  const auto request = transport->requests()[0];
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.url, "http://stock.legacy:8080/api/stock/rollback/ORD-1?order=ORD-1&sku=A-1&token=hunter2");
  EXPECT_EQ(request.timeout, std::chrono::seconds(2));
  EXPECT_EQ(header(request, "Authorization"), "Bearer secret-token");
  EXPECT_EQ(header(request, "X-Client"), "branch-1") << "action headers override participant headers";
  EXPECT_EQ(header(request, "Idempotency-Key"), "ORD-1:1:cancel");
  EXPECT_EQ(header(request, "Content-Type"), "application/json");
  EXPECT_EQ(nlohmann::json::parse(request.body),
            nlohmann::json::parse(R"({"orderNo":"ORD-1","sku":"A-1","qty":2,"meta":{"kind":"order"}})"));
}

TEST(Participant, RequestSummaryHasNoQueryHeadersOrBody) {
  auto transport = std::make_shared<FakeTransport>();
  Participant stock("stock", spec_from(kStock), transport);
  auto txn = make_txn("ORD 1");
  auto branch = make_branch({{"sku", "A-1"}, {"qty", 2}});
  auto result = stock.run(Decision::Cancel, txn, branch);
  EXPECT_EQ(result.request_summary, "POST http://stock.legacy:8080/api/stock/rollback/ORD%201");
}

TEST(Participant, ThePasswordOfTheBaseUrlStaysOutOfTheSummaryAndTheErrors) {
  const std::string secret = "Pw-d1st1nct-9f3k";
  std::string yaml = kStock;
  yaml.replace(yaml.find("http://stock.legacy"), std::string("http://stock.legacy").size(),
               "http://ops:" + secret + "@stock.legacy");
  auto transport = std::make_shared<FakeTransport>();
  Participant stock("stock", spec_from(yaml), transport);
  auto branch = make_branch({{"sku", "A-1"}, {"qty", 2}});

  auto done = stock.run(Decision::Cancel, make_txn("ORD-1"), branch);
  EXPECT_EQ(done.outcome, Outcome::Done);
  EXPECT_EQ(done.request_summary, "POST http://ops:***@stock.legacy:8080/api/stock/rollback/ORD-1");
  ASSERT_EQ(transport->requests().size(), 1u);
  EXPECT_EQ(transport->requests()[0].url.find("http://ops:" + secret + "@stock.legacy:8080/"), 0u)
      << "the request itself still carries the credentials";

  // Transports may name the URL in their errors.
  transport->reply = [](const HttpRequest& request) { return HttpResponse{0, "", "cannot reach " + request.url}; };
  auto unreachable = stock.run(Decision::Cancel, make_txn("ORD-1"), branch);
  EXPECT_EQ(unreachable.outcome, Outcome::Retry);
  EXPECT_NE(unreachable.error.find("cannot reach http://ops:***@stock.legacy"), std::string::npos) << unreachable.error;
  transport->reply = [](const HttpRequest& request) -> HttpResponse {
    throw std::runtime_error("bad URI " + request.url);
  };
  auto thrown = stock.run(Decision::Cancel, make_txn("ORD-1"), branch);
  EXPECT_EQ(thrown.outcome, Outcome::Retry);
  EXPECT_NE(thrown.error.find("bad URI http://ops:***@"), std::string::npos) << thrown.error;
  for (const auto& result : {done, unreachable, thrown}) {
    EXPECT_EQ(result.request_summary.find(secret), std::string::npos) << result.request_summary;
    EXPECT_EQ(result.error.find(secret), std::string::npos) << result.error;
  }
}

TEST(Participant, OutcomesFollowTheRules) {
  struct Case {
    HttpResponse response;
    Outcome outcome;
    std::string error_part;
  };
  const std::vector<Case> cases{
      {{200, R"({"code":0})", ""}, Outcome::Done, ""},
      {{200, R"({"code":1002})", ""}, Outcome::AlreadyDone, ""},
      {{404, R"({"code":1001,"msg":"order not found"})", ""}, Outcome::NotFound, ""},
      {{404, "<html>nginx</html>", ""}, Outcome::Retry, "unmatched answer: HTTP 404: <html>nginx</html>"},
      {{422, R"({"code":1004,"msg":"insufficient stock"})", ""}, Outcome::Fatal, "'fatal' matched HTTP 422: {\"code\""},
      {{429, "", ""}, Outcome::Retry, "'retry' matched HTTP 429"},
      {{503, "busy", ""}, Outcome::Retry, "unmatched answer: HTTP 503"},
      {{200, R"({"code":7})", ""}, Outcome::Retry, "unmatched answer: HTTP 200"},
      {{200, "not json", ""}, Outcome::Retry, "unmatched answer"},
      {{0, "", "connection refused"}, Outcome::Retry, "connection refused"},
      {{0, "", ""}, Outcome::Retry, "no HTTP answer"},
  };
  for (const auto& c : cases) {
    auto transport = std::make_shared<FakeTransport>();
    transport->reply = [&c](const HttpRequest&) { return c.response; };
    Participant stock("stock", spec_from(kStock), transport);
    auto txn = make_txn("ORD-1");
    auto branch = make_branch({{"sku", "A-1"}, {"qty", 2}});
    auto result = stock.run(Decision::Cancel, txn, branch);
    EXPECT_EQ(result.outcome, c.outcome) << c.response.status << " " << c.response.body;
    EXPECT_NE(result.error.find(c.error_part), std::string::npos) << result.error;
    EXPECT_EQ(result.error.empty(), c.error_part.empty()) << result.error;
    if (c.response.status != 0) {
      EXPECT_EQ(result.http_status, c.response.status);
    } else {
      EXPECT_FALSE(result.http_status.has_value());
    }
  }
}

TEST(Participant, ErrorExcerptIsShortPrintableUtf8) {
  auto transport = std::make_shared<FakeTransport>();
  std::string body = "库存\r\n\xff\xfe" + std::string(10'000, 'x') + "\xe5";
  transport->reply = [&body](const HttpRequest&) { return HttpResponse{500, body, ""}; };
  Participant stock("stock", spec_from(kStock), transport);
  auto txn = make_txn("ORD-1");
  auto branch = make_branch({{"sku", "A-1"}, {"qty", 2}});
  auto result = stock.run(Decision::Cancel, txn, branch);
  EXPECT_LT(result.error.size(), 300u);
  EXPECT_NE(result.error.find("库存  ??xxx"), std::string::npos) << result.error;
  EXPECT_TRUE(result.error.ends_with("..."));
  EXPECT_NO_THROW((void)nlohmann::json(result.error).dump()) << "must be valid UTF-8";
}

TEST(Participant, MissingConfirmIsASkippedNoOp) {
  auto transport = std::make_shared<FakeTransport>();
  Participant stock("stock", spec_from(kStock), transport);
  EXPECT_TRUE(stock.has_action(Decision::Cancel));
  EXPECT_FALSE(stock.has_action(Decision::Confirm));
  auto txn = make_txn("ORD-1");
  auto branch = make_branch({{"sku", "A-1"}, {"qty", 2}});
  auto result = stock.run(Decision::Confirm, txn, branch);
  EXPECT_TRUE(result.skipped);
  EXPECT_EQ(result.outcome, Outcome::Done);
  EXPECT_TRUE(transport->requests().empty());
}

TEST(Participant, MissingBranchFieldIsFatalAndSendsNothing) {
  auto transport = std::make_shared<FakeTransport>();
  Participant stock("stock", spec_from(kStock), transport);
  auto txn = make_txn("ORD-1");
  auto branch = make_branch({{"sku", "A-1"}});
  auto result = stock.run(Decision::Cancel, txn, branch);
  EXPECT_EQ(result.outcome, Outcome::Fatal);
  EXPECT_NE(result.error.find("cancel request for participant stock: body: branch 0 has no field 'qty'"),
            std::string::npos)
      << result.error;
  EXPECT_TRUE(transport->requests().empty());
}

// An xid of ".." would send /api/stock/rollback/.. , which servers resolve to /api/stock; a quantity
// that is an object would put structure in the body. Neither is sent: fatal, with the reason.
TEST(Participant, ADotSegmentPathOrAStructuredBodyValueIsFatalAndSendsNothing) {
  auto transport = std::make_shared<FakeTransport>();
  Participant stock("stock", spec_from(kStock), transport);
  auto dots = make_txn("..");
  auto branch = make_branch({{"sku", "A-1"}, {"qty", 2}});
  auto result = stock.run(Decision::Cancel, dots, branch);
  EXPECT_EQ(result.outcome, Outcome::Fatal);
  EXPECT_NE(result.error.find("path: the path would contain the dot segment '..'"), std::string::npos) << result.error;

  auto txn = make_txn("ORD-1");
  auto structured = make_branch({{"sku", "A-1"}, {"qty", {{"$gt", 0}}}});
  result = stock.run(Decision::Cancel, txn, structured);
  EXPECT_EQ(result.outcome, Outcome::Fatal);
  EXPECT_NE(result.error.find("branch field 'qty' is object, not a string, number or boolean"), std::string::npos)
      << result.error;
  EXPECT_TRUE(transport->requests().empty());
}

TEST(Participant, InvalidUtf8InAJsonBodyIsFatal) {
  auto transport = std::make_shared<FakeTransport>();
  Participant stock("stock", spec_from(kStock), transport);
  auto txn = make_txn("ORD-\xff");
  auto branch = make_branch({{"sku", "A-1"}, {"qty", 2}});
  auto result = stock.run(Decision::Cancel, txn, branch);
  EXPECT_EQ(result.outcome, Outcome::Fatal);
  EXPECT_NE(result.error.find("UTF-8"), std::string::npos) << result.error;
  EXPECT_TRUE(transport->requests().empty());
}

TEST(Participant, HostileXidsCannotChangeTheRequestShape) {
  auto transport = std::make_shared<FakeTransport>();
  Participant stock("stock", spec_from(kStock), transport);
  auto branch = make_branch({{"sku", "A-1"}, {"qty", 2}});
  stock.run(Decision::Cancel, make_txn("ORD-1"), branch);
  const Shape benign = shape_of(transport->requests().at(0));
  const std::vector<std::string> hostile{
      R"(a/../b?x=1&"})",
      "a/../b?x=1&\"}\r\nX-Evil: 1\r\n\r\nGET / HTTP/1.1",
      "a\nb",
      "a\rb",
      "%2F%00",
      "a#frag",
      "a=b&order=evil",
      "\",\"orderNo\":\"evil",
      "../../admin",
      "订单/😀",
      std::string("a\0b", 3),
      std::string(1 << 20, '/'),
  };
  for (const auto& xid : hostile) {
    auto txn = make_txn(xid);
    auto branch_for_xid = make_branch({{"sku", xid}, {"qty", 2}});
    auto result = stock.run(Decision::Cancel, txn, branch_for_xid);
    EXPECT_EQ(result.outcome, Outcome::Done) << xid.substr(0, 40);
    const auto request = transport->requests().back();
    const Shape s = shape_of(request);
    EXPECT_EQ(s.path_segments, benign.path_segments) << xid.substr(0, 40);
    EXPECT_EQ(s.query_keys, benign.query_keys) << xid.substr(0, 40);
    EXPECT_EQ(s.json_keys, benign.json_keys) << xid.substr(0, 40);
    EXPECT_EQ(s.header_names, benign.header_names) << xid.substr(0, 40);
    EXPECT_EQ(nlohmann::json::parse(request.body).at("orderNo"), xid) << "the body carries the xid verbatim";
    for (const auto& [name, value] : request.headers) {
      EXPECT_EQ(value.find_first_of(std::string("\r\n\0", 3)), std::string::npos) << name;
    }
    EXPECT_EQ(request.url.find_first_of(std::string(" \r\n\0\"#", 6)), std::string::npos);
  }
}

TEST(Participant, HostileXidInAHeaderTemplateIsFatalNotSent) {
  auto transport = std::make_shared<FakeTransport>();
  Participant p("stock", spec_from(R"(
base_url: http://stock
actions:
  cancel:
    method: POST
    path: /x
    headers: {X-Order: "{{xid}}"}
)"),
                transport);
  auto branch = make_branch({});
  auto ok = p.run(Decision::Cancel, make_txn("ORD 1/ü"), branch);
  EXPECT_EQ(ok.outcome, Outcome::Retry) << "no outcome rules: every answer is unmatched";
  EXPECT_EQ(header(transport->requests().at(0), "X-Order"), "ORD 1/ü");
  for (const char* xid : {"a\r\nX-Evil: 1", "a\nb", "a\rb"}) {
    auto result = p.run(Decision::Cancel, make_txn(xid), branch);
    EXPECT_EQ(result.outcome, Outcome::Fatal) << xid;
    EXPECT_NE(result.error.find("header X-Order: a header value would contain a control character"), std::string::npos)
        << result.error;
  }
  EXPECT_EQ(transport->requests().size(), 1u);
}

TEST(Participant, IdempotencyKeyIsPercentEncoded) {
  auto transport = std::make_shared<FakeTransport>();
  Participant stock("stock", spec_from(kStock), transport);
  auto branch = make_branch({{"sku", "A-1"}, {"qty", 2}}, 2);
  stock.run(Decision::Cancel, make_txn("a:b\r\nc"), branch);
  EXPECT_EQ(header(transport->requests().at(0), "Idempotency-Key"), "a%3Ab%0D%0Ac:2:cancel");
}

TEST(Participant, FormBodyIsUrlEncoded) {
  auto transport = std::make_shared<FakeTransport>();
  Participant p("coupon", spec_from(R"(
base_url: http://coupon/
idempotency_header: X-Request-Id
actions:
  cancel:
    method: PUT
    path: /unlock
    form: {order no: "{{xid}}", coupon: "{{branch.coupon_id}}"}
  confirm:
    method: GET
    path: /use/{{branch.coupon_id}}/{{branch.participant}}
)"),
                transport);
  auto branch = make_branch({{"coupon_id", "C&1=2"}}, 0, "coupon");
  p.run(Decision::Cancel, make_txn("O+1 2"), branch);
  p.run(Decision::Confirm, make_txn("O1"), branch);
  const auto requests = transport->requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].method, "PUT");
  EXPECT_EQ(requests[0].url, "http://coupon/unlock");
  EXPECT_EQ(requests[0].body, "order%20no=O%2B1%202&coupon=C%261%3D2");
  EXPECT_EQ(header(requests[0], "Content-Type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(header(requests[0], "X-Request-Id"), "O%2B1%202:0:cancel");
  EXPECT_EQ(requests[1].url, "http://coupon/use/C%261%3D2/coupon");
  EXPECT_TRUE(requests[1].body.empty());
  EXPECT_EQ(header(requests[1], "Content-Type"), "<absent>");
}

TEST(Participant, TransportExceptionsBecomeRetry) {
  auto transport = std::make_shared<FakeTransport>();
  transport->reply = [](const HttpRequest&) -> HttpResponse { throw std::runtime_error("socket exploded"); };
  Participant stock("stock", spec_from(kStock), transport);
  auto branch = make_branch({{"sku", "A-1"}, {"qty", 2}});
  auto result = stock.run(Decision::Cancel, make_txn("ORD-1"), branch);
  EXPECT_EQ(result.outcome, Outcome::Retry);
  EXPECT_NE(result.error.find("socket exploded"), std::string::npos);
}

TEST(Participant, LatencyIsMeasured) {
  auto transport = std::make_shared<FakeTransport>();
  transport->reply = [](const HttpRequest&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return HttpResponse{200, R"({"code":0})", ""};
  };
  Participant stock("stock", spec_from(kStock), transport);
  auto branch = make_branch({{"sku", "A-1"}, {"qty", 2}});
  auto result = stock.run(Decision::Cancel, make_txn("ORD-1"), branch);
  EXPECT_GE(result.latency, std::chrono::milliseconds(50));
  EXPECT_LT(result.latency, std::chrono::seconds(2));
}

TEST(Participant, MaxInFlightBoundsConcurrentCalls) {
  auto transport = std::make_shared<FakeTransport>();
  std::atomic<int> in_flight{0};
  std::atomic<int> peak{0};
  transport->reply = [&](const HttpRequest&) {
    int now = ++in_flight;
    int seen = peak.load();
    while (now > seen && !peak.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    --in_flight;
    return HttpResponse{200, R"({"code":0})", ""};
  };
  Participant stock("stock", spec_from(std::string(kStock) + "max_in_flight: 2\n"), transport);
  std::vector<Outcome> outcomes(8, Outcome::Fatal);
  {
    std::vector<std::jthread> workers;
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
      workers.emplace_back([&, i] {
        auto branch = make_branch({{"sku", "A-1"}, {"qty", 2}});
        outcomes[i] = stock.run(Decision::Cancel, make_txn(fmt::format("ORD-{}", i)), branch).outcome;
      });
    }
  }
  EXPECT_EQ(peak.load(), 2);
  EXPECT_TRUE(std::all_of(outcomes.begin(), outcomes.end(), [](Outcome o) { return o == Outcome::Done; }));
  EXPECT_EQ(transport->requests().size(), outcomes.size());
}

TEST(Participant, WaitingForASlotGivesUpAfterTheTimeout) {
  auto transport = std::make_shared<FakeTransport>();
  std::mutex mutex;
  std::condition_variable cv;
  bool release = false;
  std::atomic<bool> entered{false};
  transport->reply = [&](const HttpRequest&) {
    entered = true;
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] { return release; });
    return HttpResponse{200, R"({"code":0})", ""};
  };
  std::string yaml = std::string(kStock);
  yaml.replace(yaml.find("timeout: 2s"), 11, "timeout: 100ms\nmax_in_flight: 1");
  Participant stock("stock", spec_from(yaml), transport);
  auto branch = make_branch({{"sku", "A-1"}, {"qty", 2}});
  std::jthread first([&] { stock.run(Decision::Cancel, make_txn("ORD-1"), branch); });
  while (!entered) std::this_thread::yield();
  auto second = stock.run(Decision::Cancel, make_txn("ORD-2"), branch);
  EXPECT_EQ(second.outcome, Outcome::Retry);
  EXPECT_NE(second.error.find("max_in_flight (1)"), std::string::npos) << second.error;
  {
    std::lock_guard lock(mutex);
    release = true;
  }
  cv.notify_all();
  first.join();
  EXPECT_EQ(stock.run(Decision::Cancel, make_txn("ORD-3"), branch).outcome, Outcome::Done) << "the slot came back";
}

// Takes every request and answers none until the test does.
class HoldingTransport final : public HttpTransport {
 public:
  void send(HttpRequest request, ResponseHandler done) override {
    std::lock_guard lock(mutex_);
    held_.emplace_back(std::move(request), std::move(done));
  }

  std::vector<std::pair<HttpRequest, ResponseHandler>> take() {
    std::lock_guard lock(mutex_);
    return std::exchange(held_, {});
  }

 private:
  std::mutex mutex_;
  std::vector<std::pair<HttpRequest, ResponseHandler>> held_;
};

// A config reload builds a new Participant for a participant with calls in flight through the old
// one: both count against one max_in_flight, the new definition's.
TEST(Participant, ARedefinedParticipantSharesTheLimitWithTheCallsInFlight) {
  auto transport = std::make_shared<HoldingTransport>();
  std::string yaml = std::string(kStock);
  yaml.replace(yaml.find("timeout: 2s"), 11, "timeout: 100ms\nmax_in_flight: 1");
  auto old_stock = std::make_unique<Participant>("stock", spec_from(yaml), transport);
  auto branch = make_branch({{"sku", "A-1"}, {"qty", 2}});
  std::optional<ActionResult> first;
  old_stock->start(Decision::Cancel, make_txn("ORD-1"), branch, [&](ActionResult r) { first = std::move(r); });

  yaml.replace(yaml.find("/api/stock/rollback/"), 20, "/api/v2/rollback/");
  Participant new_stock(spec_from(yaml), *old_stock);
  old_stock.reset();  // the reload dropped the old definition; its call is still in flight
  EXPECT_EQ(new_stock.name(), "stock");
  auto refused = new_stock.run(Decision::Cancel, make_txn("ORD-2"), branch);
  EXPECT_EQ(refused.outcome, Outcome::Retry);
  EXPECT_NE(refused.error.find("max_in_flight (1)"), std::string::npos) << refused.error;

  auto held = transport->take();
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(held[0].first.url.find("http://stock.legacy:8080/api/stock/rollback/ORD-1"), 0u);
  held[0].second(HttpResponse{200, R"({"code":0})", ""});
  ASSERT_TRUE(first);
  EXPECT_EQ(first->outcome, Outcome::Done) << "the old definition's call completes after it was replaced";

  std::optional<ActionResult> third;
  new_stock.start(Decision::Cancel, make_txn("ORD-3"), branch, [&](ActionResult r) { third = std::move(r); });
  held = transport->take();
  ASSERT_EQ(held.size(), 1u) << "the slot came back";
  EXPECT_EQ(held[0].first.url.find("http://stock.legacy:8080/api/v2/rollback/ORD-3"), 0u) << held[0].first.url;
  held[0].second(HttpResponse{200, R"({"code":0})", ""});
  ASSERT_TRUE(third);
  EXPECT_EQ(third->outcome, Outcome::Done);
}

}  // namespace
}  // namespace compensatord::adapters
