"""IP addresses as the spec writes them: allow-list CIDRs and MetalLB pool entries."""

from __future__ import annotations

import ipaddress

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_cidr(text: str) -> tuple[IpNetwork | None, str]:
    """(network, problem): a problem is empty when the text is a CIDR without host bits."""
    try:
        strict = ipaddress.ip_network(text, strict=True)
    except ValueError:
        try:
            loose = ipaddress.ip_network(text, strict=False)
        except ValueError:
            return None, f"{text!r} is not a CIDR"
        return loose, f"{text!r} has host bits set; the network is {loose}"
    return strict, ""


def parse_pool_entry(text: str) -> tuple[tuple[IpAddress, IpAddress] | None, str]:
    """A MetalLB address (CIDR or start-end range) as its first and last address."""
    if "-" in text:
        start_text, _, end_text = text.partition("-")
        try:
            start = ipaddress.ip_address(start_text.strip())
            end = ipaddress.ip_address(end_text.strip())
        except ValueError:
            return None, f"{text!r} is not a range of two IP addresses"
        if start.version != end.version:
            return None, f"{text!r} mixes IPv4 and IPv6"
        if int(start) > int(end):
            return None, f"{text!r} starts after it ends"
        return (start, end), ""
    network, problem = parse_cidr(text)
    if network is None or problem:
        return None, problem
    return (network.network_address, network.broadcast_address), ""
