// OutboundPolicy: which addresses the server's own calls to app- and
// unit-registered URLs may reach (directory pushes, back-channel logout, CAS
// proxy callbacks, payment result notifications). http::Client checks it on
// the address it is about to connect to — after name resolution, so a name
// that resolves to a refused address is refused too.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace tongban::http {

class OutboundPolicy {
 public:
  struct Settings {
    // 127.0.0.0/8 and ::1: the server's own host, where its database, Redis
    // and admin ports listen. Tests and the demo's receivers live there.
    bool allow_loopback = false;
    // Networks refused beyond the built-in ones, as "a.b.c.d/n" or "x::/n".
    std::vector<std::string> refuse_networks = {};
  };

  // Refuses always: unspecified and "this network" (0.0.0.0/8, ::), link-local
  // (169.254.0.0/16 and fe80::/10: cloud metadata services live there),
  // the metadata addresses 100.100.100.200 (Alibaba Cloud) and fd00:ec2::254
  // (AWS over IPv6), multicast, 240.0.0.0/4
  // and broadcast. An IPv4-mapped IPv6 address is judged as its IPv4 address.
  // kInvalidArgument names a network that does not parse.
  static Result<OutboundPolicy> Make(const Settings& settings);

  // Why `address` may not be reached ("169.254.169.254 is link-local"), or
  // nothing when it may.
  std::optional<std::string> Refusal(const boost::asio::ip::address& address) const;

 private:
  struct Network {
    boost::asio::ip::address base;  // v4 or v6, masked to `bits`
    int bits = 0;
    std::string why;
  };
  bool allow_loopback_ = false;
  std::vector<Network> refused_;
};

}  // namespace tongban::http
