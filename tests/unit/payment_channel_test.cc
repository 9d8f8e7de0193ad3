// The channel interface's pieces that need no network: plugin selection, the
// sandbox signature, yuan on the wire, and statement lines (corrupt ones too).
#include <gtest/gtest.h>

#include "http/url.h"
#include "payment/channel.h"
#include "payment/channel_sandbox.h"
#include "payment/channel_statement.h"
#include "payment/model.h"

namespace tongban::payment {
namespace {

ChannelSettings Sandbox(bool allowed) {
  ChannelSettings s;
  s.name = "sandbox";
  s.base_url = "http://127.0.0.1:9";
  s.key = "shared-key";
  s.allow_sandbox = allowed;
  return s;
}

TEST(OpenChannel, RefusesAConfigThatNamesNoChannel) {
  auto c = OpenChannel(ChannelSettings{});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, errc::kInvalidArgument);
}

TEST(OpenChannel, RefusesTheSandboxUnlessSandboxIsTrue) {
  auto refused = OpenChannel(Sandbox(false));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("sandbox = true"), std::string::npos);
  auto allowed = OpenChannel(Sandbox(true));
  ASSERT_TRUE(allowed.ok()) << allowed.error().message;
  EXPECT_EQ((*allowed)->code(), "sandbox");
}

TEST(OpenChannel, RefusesAnUnknownChannelAndOpensARegisteredOne) {
  ChannelSettings s;
  s.name = "icbc-test-plugin";
  auto unknown = OpenChannel(s);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("not a known channel"), std::string::npos);
  RegisterChannel("icbc-test-plugin", [](const ChannelSettings& settings) {
    ChannelSettings local = settings;
    local.base_url = "http://127.0.0.1:9";
    return MakeSandboxChannel(local);
  });
  s.key = "k";
  EXPECT_TRUE(OpenChannel(s).ok());
  EXPECT_THROW(RegisterChannel("icbc-test-plugin", nullptr), std::invalid_argument);
}

TEST(SandboxSign, IgnoresOrderAndEmptyValuesAndTheSignItself) {
  std::string a = SandboxSign("k", {{"b", "2"}, {"a", "1"}, {"c", ""}});
  std::string b = SandboxSign("k", {{"a", "1"}, {"b", "2"}, {"sign", "whatever"}});
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.size(), 64u);
  EXPECT_NE(a, SandboxSign("other", {{"a", "1"}, {"b", "2"}}));
  EXPECT_NE(a, SandboxSign("k", {{"a", "1"}, {"b", "3"}}));
}

ChannelPayment Paid() {
  ChannelPayment p;
  p.order_no = "O1";
  p.channel_serial = "PS1";
  p.amount_fen = 12345;
  p.paid_at_ms = 1'700'000'000'000;
  p.status = ChannelPaymentStatus::kPaid;
  return p;
}

TEST(SandboxNotification, ASignedFormReadsBack) {
  auto channel = OpenChannel(Sandbox(true));
  ASSERT_TRUE(channel.ok());
  std::string body = http::EncodeForm(SandboxPaymentForm(Paid(), "shared-key"));
  auto p = (*channel)->VerifyNotification({"application/x-www-form-urlencoded", body});
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->order_no, "O1");
  EXPECT_EQ(p->channel_serial, "PS1");
  EXPECT_EQ(p->amount_fen, 12345);
  EXPECT_EQ(p->paid_at_ms, 1'700'000'000'000);
  EXPECT_EQ(p->status, ChannelPaymentStatus::kPaid);
}

TEST(SandboxNotification, AWrongKeyOrATamperedAmountIsRefused) {
  auto channel = OpenChannel(Sandbox(true));
  ASSERT_TRUE(channel.ok());
  std::string forged = http::EncodeForm(SandboxPaymentForm(Paid(), "attacker-key"));
  auto a = (*channel)->VerifyNotification({"", forged});
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().code, errc::kPermissionDenied);

  std::string body = http::EncodeForm(SandboxPaymentForm(Paid(), "shared-key"));
  size_t at = body.find("amount_fen=12345");
  ASSERT_NE(at, std::string::npos);
  body.replace(at, 16, "amount_fen=12346");
  auto b = (*channel)->VerifyNotification({"", body});
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, errc::kPermissionDenied);

  auto unsigned_body = (*channel)->VerifyNotification({"", "order_no=O1&amount_fen=1"});
  ASSERT_FALSE(unsigned_body.ok());
  EXPECT_EQ(unsigned_body.error().code, errc::kPermissionDenied);
}

TEST(SandboxNotification, ASignedButIncompleteFormIsInvalid) {
  auto channel = OpenChannel(Sandbox(true));
  ASSERT_TRUE(channel.ok());
  std::vector<std::pair<std::string, std::string>> form = {{"order_no", "O1"},
                                                           {"status", "paid"},
                                                           {"amount_fen", "100"}};
  form.emplace_back("sign", SandboxSign("shared-key", form));
  auto p = (*channel)->VerifyNotification({"", http::EncodeForm(form)});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().code, errc::kInvalidArgument);  // paid without a serial
}

TEST(ChinaTime, RoundTripsAndChecksTheCalendar) {
  const int64_t ms = 1'700'000'000'000;  // 2023-11-14 22:13:20 UTC = 2023-11-15 06:13:20 +08
  EXPECT_EQ(FormatChinaTime(ms), "20231115061320");
  EXPECT_EQ(ParseChinaTime("20231115061320"), ms);
  EXPECT_EQ(ChinaDate(ms), "20231115");
  EXPECT_EQ(ChinaDayStart("20231115"), ms - (6 * 3600 + 13 * 60 + 20) * 1000);
  EXPECT_GT(ParseChinaTime("20240229120000"), 0);  // leap day
  EXPECT_EQ(ParseChinaTime("20230229120000"), -1);
  EXPECT_EQ(ParseChinaTime("20231301000000"), -1);
  EXPECT_EQ(ParseChinaTime("20231115246000"), -1);
  EXPECT_EQ(ParseChinaTime("2023111506132"), -1);
}

TEST(StatementLine, ReadsWhatItWrites) {
  std::string line;
  AppendStatementLine(Paid(), line);
  ASSERT_EQ(line.back(), '\n');
  line.pop_back();
  StatementLine s;
  ASSERT_EQ(ParseStatementLine(line, s), nullptr);
  EXPECT_EQ(s.order_no, "O1");
  EXPECT_EQ(s.channel_serial, "PS1");
  EXPECT_EQ(s.amount_fen, 12345);
  EXPECT_EQ(s.paid_at_ms, 1'700'000'000'000);
  EXPECT_EQ(s.status, ChannelPaymentStatus::kPaid);
  ASSERT_EQ(ParseStatementLine("O2,PS2,1,20231115061320,refunded\r", s), nullptr);
  EXPECT_EQ(s.status, ChannelPaymentStatus::kRefunded);
}

TEST(StatementLine, NamesWhatIsWrongWithACorruptLine) {
  StatementLine s;
  EXPECT_STREQ(ParseStatementLine("", s), "5 fields expected");
  EXPECT_STREQ(ParseStatementLine("garbled line,0", s), "5 fields expected");
  EXPECT_STREQ(ParseStatementLine("a,b,1,20231115061320,paid,x", s), "5 fields expected");
  EXPECT_STREQ(ParseStatementLine(",b,1,20231115061320,paid", s), "bad order_no");
  EXPECT_STREQ(ParseStatementLine("a,,1,20231115061320,paid", s), "bad channel_serial");
  EXPECT_STREQ(ParseStatementLine("a,b,1.5,20231115061320,paid", s), "bad amount_fen");
  EXPECT_STREQ(ParseStatementLine("a,b,-1,20231115061320,paid", s), "bad amount_fen");
  EXPECT_STREQ(ParseStatementLine("a,b,0,20231115061320,paid", s), "bad amount_fen");
  EXPECT_STREQ(ParseStatementLine("a,b,1,2023-11-15,paid", s), "bad paid_at");
  EXPECT_STREQ(ParseStatementLine("a,b,1,20231115061320,PAID", s), "bad status");
  EXPECT_STREQ(ParseStatementLine(std::string(kStatementHeader), s), "bad amount_fen");
}

}  // namespace
}  // namespace tongban::payment
