// Building and rendering SSO replies: a ticketValidation reply (the hot path) and a 20-user
// list, to JSON and to <SSO> XML, against baselines measured in the same run:
// nlohmann::ordered_json (build + dump) for JSON and pugixml (build + save) for XML.
// Report ratios, not absolute times. "allocs" counts heap allocations per iteration.
// Run a Release build: build-dir/bench/codec_render_bench
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <nlohmann/json.hpp>
#include <pugixml.hpp>
#include <string>
#include <vector>

#include "codec/render.h"
#include "codec/value.h"

namespace {
std::atomic<long> g_allocations{0};

void* CountedMalloc(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(size == 0 ? 1 : size);
}

// pugixml allocates through its own hooks, not operator new; count those too.
const bool kPugixmlCounted = [] {
  pugi::set_memory_management_functions(CountedMalloc, std::free);
  return true;
}();
}  // namespace

// Counting every allocation in this binary is how the benchmark shows the cost in
// allocations, not only in time. noinline keeps GCC from pairing the inlined malloc and free
// across new/delete (-Wmismatched-new-delete).
[[gnu::noinline]] void* operator new(std::size_t size) {
  if (void* p = CountedMalloc(size)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace tongban::codec {
namespace {

// Inputs as a handler holds them: strings from the ticket store and the user cache.
struct User {
  std::string userid, loginname, username, orgcoding, mobile;
};

struct TicketInputs {
  std::string token = "8a1189bf8caba36b018cae241546098c-commonToken";
  User user{"8a1189bf8caba36b018cae241546098c", "zhangs", "张三", "001002", "13800000000"};
};

const TicketInputs& Ticket() {
  static const TicketInputs kInputs;
  return kInputs;
}

const std::vector<User>& Users() {
  static const std::vector<User> kUsers = [] {
    std::vector<User> users;
    for (int i = 0; i < 20; ++i) {
      const std::string n = std::to_string(i);
      users.push_back(User{"8a1189bf8caba36b018cae2415460" + std::string(3 - n.size(), '0') + n,
                           "user" + n, "张三" + n, "001002", "1380000" + std::string(4, '0')});
    }
    return users;
  }();
  return kUsers;
}

Value BuildTicketReply(const TicketInputs& in) {
  return Value::Object()
      .Set("result", "0")
      .Set("errmsg", "成功")
      .Set("token", in.token)
      .Set("userid", in.user.userid)
      .Set("loginname", in.user.loginname)
      .Set("username", in.user.username);
}

Value BuildUserList(const std::vector<User>& users) {
  Value reply = Value::Object()
                    .Set("result", "0")
                    .Set("errmsg", "成功")
                    .Set("total", static_cast<std::int64_t>(users.size()));
  Value& list = reply.Add("user", Value::Array(users.size()));
  for (const User& u : users) {
    list.Push(Value::Object()
                  .Set("userid", u.userid)
                  .Set("loginname", u.loginname)
                  .Set("username", u.username)
                  .Set("orgcoding", u.orgcoding)
                  .Set("mobile", u.mobile));
  }
  return reply;
}

nlohmann::ordered_json BuildTicketReplyNlohmann(const TicketInputs& in) {
  nlohmann::ordered_json j;
  j["result"] = "0";
  j["errmsg"] = "成功";
  j["token"] = in.token;
  j["userid"] = in.user.userid;
  j["loginname"] = in.user.loginname;
  j["username"] = in.user.username;
  return j;
}

nlohmann::ordered_json BuildUserListNlohmann(const std::vector<User>& users) {
  nlohmann::ordered_json j;
  j["result"] = "0";
  j["errmsg"] = "成功";
  j["total"] = users.size();
  nlohmann::ordered_json& list = j["user"] = nlohmann::ordered_json::array();
  for (const User& u : users) {
    nlohmann::ordered_json item;
    item["userid"] = u.userid;
    item["loginname"] = u.loginname;
    item["username"] = u.username;
    item["orgcoding"] = u.orgcoding;
    item["mobile"] = u.mobile;
    list.push_back(std::move(item));
  }
  return j;
}

struct StringWriter : pugi::xml_writer {
  std::string out;
  void write(const void* data, std::size_t size) override {
    out.append(static_cast<const char*>(data), size);
  }
};

std::string SavePugixml(const pugi::xml_document& doc) {
  StringWriter writer;
  doc.save(writer, "", pugi::format_raw, pugi::encoding_utf8);
  return std::move(writer.out);
}

std::string TicketReplyPugixml(const TicketInputs& in) {
  pugi::xml_document doc;
  pugi::xml_node decl = doc.append_child(pugi::node_declaration);
  decl.append_attribute("version") = "1.0";
  decl.append_attribute("encoding") = "UTF-8";
  pugi::xml_node sso = doc.append_child("SSO");
  sso.append_child("result").text() = "0";
  sso.append_child("errmsg").text() = "成功";
  sso.append_child("token").text() = in.token.c_str();
  sso.append_child("userid").text() = in.user.userid.c_str();
  sso.append_child("loginname").text() = in.user.loginname.c_str();
  sso.append_child("username").text() = in.user.username.c_str();
  return SavePugixml(doc);
}

std::string UserListPugixml(const std::vector<User>& users) {
  pugi::xml_document doc;
  pugi::xml_node decl = doc.append_child(pugi::node_declaration);
  decl.append_attribute("version") = "1.0";
  decl.append_attribute("encoding") = "UTF-8";
  pugi::xml_node sso = doc.append_child("SSO");
  sso.append_child("result").text() = "0";
  sso.append_child("errmsg").text() = "成功";
  sso.append_child("total").text() = static_cast<unsigned>(users.size());
  for (const User& u : users) {
    pugi::xml_node item = sso.append_child("user");
    item.append_attribute("userid") = u.userid.c_str();
    item.append_attribute("loginname") = u.loginname.c_str();
    item.append_attribute("username") = u.username.c_str();
    item.append_attribute("orgcoding") = u.orgcoding.c_str();
    item.append_attribute("mobile") = u.mobile.c_str();
  }
  return SavePugixml(doc);
}

// Runs `render` per iteration and reports allocations per iteration and the output size.
template <typename Fn>
void Measure(benchmark::State& state, Fn render) {
  std::size_t bytes = 0;
  const long before = g_allocations.load(std::memory_order_relaxed);
  for (auto _ : state) {
    std::string out = render();
    bytes = out.size();
    benchmark::DoNotOptimize(out);
  }
  const long allocations = g_allocations.load(std::memory_order_relaxed) - before;
  state.counters["allocs"] =
      benchmark::Counter(static_cast<double>(allocations), benchmark::Counter::kAvgIterations);
  state.counters["bytes"] = static_cast<double>(bytes);
}

void BM_TicketReply_Build(benchmark::State& state) {
  const long before = g_allocations.load(std::memory_order_relaxed);
  for (auto _ : state) {
    Value reply = BuildTicketReply(Ticket());
    benchmark::DoNotOptimize(reply);
  }
  state.counters["allocs"] = benchmark::Counter(static_cast<double>(g_allocations.load() - before),
                                                benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_TicketReply_Build);

void BM_TicketReply_Json(benchmark::State& state) {
  Measure(state, [] { return RenderJson(BuildTicketReply(Ticket())); });
}
BENCHMARK(BM_TicketReply_Json);

void BM_TicketReply_Json_BaselineNlohmannOrderedJson(benchmark::State& state) {
  Measure(state, [] { return BuildTicketReplyNlohmann(Ticket()).dump(); });
}
BENCHMARK(BM_TicketReply_Json_BaselineNlohmannOrderedJson);

void BM_TicketReply_Xml(benchmark::State& state) {
  Measure(state, [] { return RenderSsoXml(BuildTicketReply(Ticket())); });
}
BENCHMARK(BM_TicketReply_Xml);

void BM_TicketReply_Xml_BaselinePugixml(benchmark::State& state) {
  Measure(state, [] { return TicketReplyPugixml(Ticket()); });
}
BENCHMARK(BM_TicketReply_Xml_BaselinePugixml);

void BM_UserList20_Json(benchmark::State& state) {
  Measure(state, [] { return RenderJson(BuildUserList(Users())); });
}
BENCHMARK(BM_UserList20_Json);

void BM_UserList20_Json_BaselineNlohmannOrderedJson(benchmark::State& state) {
  Measure(state, [] { return BuildUserListNlohmann(Users()).dump(); });
}
BENCHMARK(BM_UserList20_Json_BaselineNlohmannOrderedJson);

void BM_UserList20_Xml(benchmark::State& state) {
  Measure(state, [] { return RenderSsoXml(BuildUserList(Users())); });
}
BENCHMARK(BM_UserList20_Xml);

void BM_UserList20_Xml_BaselinePugixml(benchmark::State& state) {
  Measure(state, [] { return UserListPugixml(Users()); });
}
BENCHMARK(BM_UserList20_Xml_BaselinePugixml);

}  // namespace
}  // namespace tongban::codec
