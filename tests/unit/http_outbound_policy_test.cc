#include "http/outbound_policy.h"

#include <gtest/gtest.h>

#include <boost/asio/ip/address.hpp>

namespace tongban::http {
namespace {

std::optional<std::string> RefusalOf(const OutboundPolicy& policy, const char* text) {
  return policy.Refusal(boost::asio::ip::make_address(text));
}

OutboundPolicy Default() { return *OutboundPolicy::Make({}); }

TEST(OutboundPolicy, MetadataAndLinkLocalAddressesAreRefused) {
  OutboundPolicy p = Default();
  for (const char* a : {"169.254.169.254", "169.254.0.23", "100.100.100.200", "fe80::1",
                        "0.0.0.0", "::", "224.0.0.1", "255.255.255.255", "ff02::1",
                        "fd00:ec2::254"}) {
    EXPECT_TRUE(RefusalOf(p, a).has_value()) << a;
  }
  EXPECT_EQ(*RefusalOf(p, "169.254.169.254"), "169.254.169.254 is link-local (cloud metadata)");
}

TEST(OutboundPolicy, MappedAndNat64FormsAreJudgedAsTheirIpv4Address) {
  OutboundPolicy p = Default();
  EXPECT_TRUE(RefusalOf(p, "::ffff:169.254.169.254").has_value());
  EXPECT_TRUE(RefusalOf(p, "64:ff9b::a9fe:a9fe").has_value());
  EXPECT_TRUE(RefusalOf(p, "::ffff:127.0.0.1").has_value());
  EXPECT_FALSE(RefusalOf(p, "::ffff:10.1.2.3").has_value());
}

TEST(OutboundPolicy, LoopbackIsRefusedUnlessAllowed) {
  EXPECT_TRUE(RefusalOf(Default(), "127.0.0.1").has_value());
  EXPECT_TRUE(RefusalOf(Default(), "127.8.9.10").has_value());
  EXPECT_TRUE(RefusalOf(Default(), "::1").has_value());
  OutboundPolicy allowed = *OutboundPolicy::Make({.allow_loopback = true});
  EXPECT_FALSE(RefusalOf(allowed, "127.0.0.1").has_value());
  EXPECT_FALSE(RefusalOf(allowed, "::1").has_value());
  // Allowing loopback allows nothing else.
  EXPECT_TRUE(RefusalOf(allowed, "169.254.169.254").has_value());
}

TEST(OutboundPolicy, PrivateAndPublicAddressesAreReachable) {
  OutboundPolicy p = Default();
  for (const char* a : {"10.0.0.8", "172.16.5.4", "192.168.1.1", "100.64.0.1", "100.100.100.201",
                        "59.202.58.1", "fd12::1", "2001:db8::1", "169.253.255.255",
                        "169.255.0.0"}) {
    EXPECT_FALSE(RefusalOf(p, a).has_value()) << a;
  }
}

TEST(OutboundPolicy, ConfiguredNetworksAreRefusedToo) {
  auto p = OutboundPolicy::Make({.refuse_networks = {"10.20.0.0/16", "fd00::/8", "192.168.9.9"}});
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_TRUE(RefusalOf(*p, "10.20.255.1").has_value());
  EXPECT_FALSE(RefusalOf(*p, "10.21.0.1").has_value());
  EXPECT_TRUE(RefusalOf(*p, "fdab::1").has_value());
  EXPECT_TRUE(RefusalOf(*p, "192.168.9.9").has_value());
  EXPECT_FALSE(RefusalOf(*p, "192.168.9.10").has_value());
  EXPECT_EQ(*RefusalOf(*p, "10.20.0.1"), "10.20.0.1 is in outbound.refuse_networks");
}

TEST(OutboundPolicy, ABadNetworkIsAnInvalidArgument) {
  for (const char* bad : {"10.0.0.0/33", "example.org", "10.0.0.0/", "10.0.0.0/8x", "::/129",
                          "10.0.0.0/-1"}) {
    auto p = OutboundPolicy::Make({.refuse_networks = {bad}});
    ASSERT_FALSE(p.ok()) << bad;
    EXPECT_EQ(p.error().code, errc::kInvalidArgument);
  }
}

}  // namespace
}  // namespace tongban::http
