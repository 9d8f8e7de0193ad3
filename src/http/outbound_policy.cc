#include "http/outbound_policy.h"

#include <algorithm>
#include <array>
#include <charconv>

namespace tongban::http {
namespace {

using boost::asio::ip::address;
using boost::asio::ip::address_v4;
using boost::asio::ip::address_v6;

// The address's bytes, 4 for IPv4 and 16 for IPv6.
std::array<unsigned char, 16> BytesOf(const address& a, size_t& length) {
  std::array<unsigned char, 16> out{};
  if (a.is_v4()) {
    auto b = a.to_v4().to_bytes();
    std::copy(b.begin(), b.end(), out.begin());
    length = 4;
  } else {
    out = a.to_v6().to_bytes();
    length = 16;
  }
  return out;
}

bool PrefixMatches(const address& a, const address& base, int bits) {
  if (a.is_v4() != base.is_v4()) return false;
  size_t length = 0;
  auto x = BytesOf(a, length);
  auto y = BytesOf(base, length);
  for (size_t i = 0; i < length && bits > 0; ++i, bits -= 8) {
    unsigned char mask = bits >= 8 ? 0xFF : static_cast<unsigned char>(0xFF << (8 - bits));
    if ((x[i] & mask) != (y[i] & mask)) return false;
  }
  return true;
}

// "10.0.0.0/8" or "fe80::/10"; a bare address is a network of one.
Result<std::pair<address, int>> ParseNetwork(std::string_view text) {
  std::string_view host = text.substr(0, text.find('/'));
  boost::system::error_code ec;
  address base = boost::asio::ip::make_address(std::string(host), ec);
  if (ec) return Error::InvalidArgument("not an IP network: " + std::string(text));
  const int max_bits = base.is_v4() ? 32 : 128;
  int bits = max_bits;
  if (host.size() != text.size()) {
    std::string_view digits = text.substr(host.size() + 1);
    auto [end, err] = std::from_chars(digits.data(), digits.data() + digits.size(), bits);
    if (err != std::errc() || end != digits.data() + digits.size() || bits < 0 ||
        bits > max_bits) {
      return Error::InvalidArgument("bad prefix length in network: " + std::string(text));
    }
  }
  return std::make_pair(base, bits);
}

}  // namespace

Result<OutboundPolicy> OutboundPolicy::Make(const Settings& settings) {
  OutboundPolicy p;
  p.allow_loopback_ = settings.allow_loopback;
  struct Builtin {
    const char* network;
    const char* why;
  };
  static constexpr Builtin kBuiltins[] = {
      {"0.0.0.0/8", "unspecified"},
      {"169.254.0.0/16", "link-local (cloud metadata)"},
      {"100.100.100.200/32", "a cloud metadata address"},
      {"fd00:ec2::254/128", "a cloud metadata address"},
      {"224.0.0.0/4", "multicast"},
      {"240.0.0.0/4", "reserved or broadcast"},
      {"::/128", "unspecified"},
      {"fe80::/10", "link-local"},
      {"ff00::/8", "multicast"},
  };
  for (const Builtin& b : kBuiltins) {
    auto n = ParseNetwork(b.network);
    p.refused_.push_back({n->first, n->second, b.why});
  }
  for (const std::string& text : settings.refuse_networks) {
    auto n = ParseNetwork(text);
    if (!n.ok()) return std::move(n).error();
    p.refused_.push_back({n->first, n->second, "in outbound.refuse_networks"});
  }
  return p;
}

std::optional<std::string> OutboundPolicy::Refusal(const address& given) const {
  address a = given;
  if (a.is_v6()) {
    // IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) reach an IPv4
    // address: judge that one.
    const address_v6 v6 = a.to_v6();
    const auto b = v6.to_bytes();
    static constexpr unsigned char kNat64[12] = {0x00, 0x64, 0xff, 0x9b};
    if (v6.is_v4_mapped() || std::equal(b.begin(), b.begin() + 12, kNat64)) {
      a = address_v4(address_v4::bytes_type{b[12], b[13], b[14], b[15]});
    }
  }
  if (a.is_loopback() && !allow_loopback_) {
    return a.to_string() + " is loopback (outbound.allow_loopback is off)";
  }
  for (const Network& n : refused_) {
    if (PrefixMatches(a, n.base, n.bits)) return a.to_string() + " is " + n.why;
  }
  return std::nullopt;
}

}  // namespace tongban::http
