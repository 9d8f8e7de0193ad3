// TrustedProxies: which peers may tell the server the client's address via
// X-Forwarded-For (the load balancers in front of tongban). The server uses
// it to fill Request::remote_ip, which IP allow-lists (SSO error 9903) check.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace tongban::http {

class TrustedProxies {
 public:
  TrustedProxies() = default;  // trusts nobody

  // Entries are addresses ("10.0.0.7", "::1") or CIDR blocks
  // ("10.0.0.0/8", "fd00::/8"). Fails with InvalidArgument naming the bad one.
  static Result<TrustedProxies> Parse(const std::vector<std::string>& entries);

  bool empty() const { return nets_.empty(); }
  bool Contains(std::string_view ip) const;

  // The client address for a request from `peer_ip` carrying the given
  // X-Forwarded-For value (empty when absent). When the peer is trusted, the
  // list is walked from the right past trusted hops; the first untrusted
  // address is the client. An entry that is not an address stops the walk at
  // the last good hop, so a client cannot inject arbitrary text.
  std::string ClientIp(std::string_view peer_ip, std::string_view forwarded_for) const;

 private:
  struct Net {
    std::array<uint8_t, 16> bytes;  // IPv4 stored as IPv4-mapped IPv6
    int prefix_bits;
  };
  std::vector<Net> nets_;
};

// The canonical text of an IP address ("::ffff:1.2.3.4" becomes "1.2.3.4");
// empty when `ip` is not an address.
std::string NormalizeIp(std::string_view ip);

// The network a client address is counted under by per-address limits (the
// server's max_connections_per_ip, the login and one-time-code throttles):
// an IPv4 address itself, an IPv6 address's /64 ("2001:db8:1:2::/64": one
// subscriber or LAN holds a whole /64, so counting single IPv6 addresses
// would give each client 2^64 fresh counters). An IPv4-mapped IPv6 address
// counts as its IPv4 address; text that is no address is returned as it is.
std::string ClientNetwork(std::string_view ip);

}  // namespace tongban::http
