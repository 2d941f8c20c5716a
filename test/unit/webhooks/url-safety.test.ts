import { describe, expect, it } from "vitest";
import { ApiError } from "../../../src/errors/api-error";
import { assertWebhookUrl, checkWebhookUrl, parseIpv6 } from "../../../src/webhooks/url-safety";

const strict = { allowPrivate: false };
const lax = { allowPrivate: true };

// [url, a fragment the refusal reason must contain]
const UNSAFE: ReadonlyArray<readonly [string, string]> = [
  // scheme and shape
  ["http://example.com/hook", "https"],
  ["ftp://example.com/hook", "https"],
  ["javascript:alert(1)", "https"],
  ["file:///etc/passwd", "https"],
  ["data:text/plain,hi", "https"],
  ["//example.com/hook", "valid absolute URL"],
  ["example.com/hook", "valid absolute URL"],
  ["https://1.2.3.999/", "valid absolute URL"],
  [" https://example.com/hook", "spaces"],
  ["https://exa\tmple.com/hook", "spaces"],
  [`https://example.com/${"a".repeat(2100)}`, "2048"],
  // credentials
  ["https://user:pass@example.com/hook", "credentials"],
  ["https://user@example.com/hook", "credentials"],
  ["https://:pass@example.com/hook", "credentials"],
  // localhost and other non-public names
  ["https://localhost/hook", "single-label"],
  ["https://LOCALHOST./hook", "single-label"],
  ["https://%6c%6fcalhost/hook", "single-label"],
  ["https://ⓛocalhost/hook", "single-label"],
  ["https://api.localhost/hook", ".localhost"],
  ["https://api.localhost./hook", ".localhost"],
  ["https://metadata/computeMetadata/v1/", "single-label"],
  ["https://metadata.google.internal/computeMetadata/v1/", ".internal"],
  ["https://printer.local/", ".local"],
  ["https://router.home.arpa/", ".arpa"],
  ["https://1.0.0.127.in-addr.arpa/", ".arpa"],
  ["https://box.localdomain/", ".localdomain"],
  ["https://api.test/", ".test"],
  ["https://api.example/", ".example"],
  ["https://x.invalid/", ".invalid"],
  ["https://nas.lan/", ".lan"],
  ["https://duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion/", ".onion"],
  // IPv4 loopback, including the encodings the URL parser normalises
  ["https://127.0.0.1/hook", "loopback"],
  ["https://127.0.0.1./hook", "loopback"],
  ["https://127.255.255.254:8443/hook", "loopback"],
  ["https://2130706433/hook", "loopback"],
  ["https://0x7f000001/hook", "loopback"],
  ["https://0x7f.1/hook", "loopback"],
  ["https://0177.0.0.1/hook", "loopback"],
  ["https://127.1/hook", "loopback"],
  ["https://１２７.０.０.１/hook", "loopback"],
  // IPv4 private, link-local, CGNAT, special
  ["https://10.0.0.1/", "private (10."],
  ["https://10.255.255.255/", "private (10."],
  ["https://172.16.0.1/", "private (172.16"],
  ["https://172.31.255.255/", "private (172.16"],
  ["https://192.168.1.1/", "private (192.168"],
  ["https://169.254.169.254/latest/meta-data/", "link-local"],
  ["https://0xa9fea9fe/latest/meta-data/", "link-local"],
  ["https://100.64.0.1/", "CGNAT"],
  ["https://100.127.255.255/", "CGNAT"],
  ["https://0.0.0.0/", "this network"],
  ["https://0/", "this network"],
  ["https://192.0.0.1/", "IETF protocol"],
  ["https://192.0.2.10/", "documentation"],
  ["https://198.18.0.1/", "benchmarking"],
  ["https://198.19.255.255/", "benchmarking"],
  ["https://198.51.100.7/", "documentation"],
  ["https://203.0.113.9/", "documentation"],
  ["https://224.0.0.1/", "multicast"],
  ["https://239.255.255.250/", "multicast"],
  ["https://240.0.0.1/", "reserved"],
  ["https://255.255.255.255/", "broadcast"],
  // IPv6
  ["https://[::]/", "unspecified"],
  ["https://[::1]/", "loopback (::1)"],
  ["https://[0:0:0:0:0:0:0:1]/", "loopback (::1)"],
  ["https://[::ffff:127.0.0.1]/", "IPv4-mapped"],
  ["https://[::ffff:7f00:1]/", "IPv4-mapped"],
  ["https://[::FFFF:A9FE:A9FE]/", "IPv4-mapped"],
  ["https://[::ffff:8.8.8.8]/", "IPv4-mapped"],
  ["https://[::ffff:0:10.0.0.1]/", "IPv4-translated"],
  ["https://[::127.0.0.1]/", "IPv4-compatible"],
  ["https://[::a00:1]/", "IPv4-compatible"],
  ["https://[64:ff9b::127.0.0.1]/", "NAT64"],
  ["https://[64:ff9b::a9fe:a9fe]/", "NAT64"],
  ["https://[64:ff9b:1::1]/", "local-use NAT64"],
  ["https://[100::1]/", "discard"],
  ["https://[fc00::1]/", "unique local"],
  ["https://[fd12:3456:789a::1]/", "unique local"],
  ["https://[fe80::1]/", "link-local"],
  ["https://[febf:ffff::1]/", "link-local"],
  ["https://[fec0::1]/", "site-local"],
  ["https://[ff02::1]/", "multicast"],
  ["https://[2001::1]/", "Teredo"],
  ["https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", "Teredo"],
  ["https://[2001:db8::1]/", "documentation"],
  ["https://[2001:2::1]/", "IETF protocol"],
  ["https://[3fff::1]/", "documentation"],
  ["https://[2002:7f00:1::1]/", "6to4"],
  ["https://[2002:c0a8:101::1]/", "6to4"],
  ["https://[4000::1]/", "global unicast"],
];

const SAFE = [
  "https://example.com/webhooks/yuanjing",
  "https://example.com./hook",
  "https://api.example.com:8443/hook?token=abc#frag",
  "https://hooks.slack.com/services/T000/B000/XXXX",
  "https://xn--nxasmq6b.com/hook",
  "https://bücher.de/hook",
  "https://localhost.example.com/hook",
  "https://my-service.internal.example.org/hook",
  "https://123.example.com/hook",
  "https://8.8.8.8/hook",
  "https://1.1.1.1/hook",
  "https://100.63.255.255/hook",
  "https://100.128.0.0/hook",
  "https://172.15.255.255/hook",
  "https://172.32.0.0/hook",
  "https://169.253.255.255/hook",
  "https://198.20.0.0/hook",
  "https://223.255.255.255/hook",
  "https://[2606:4700:4700::1111]/hook",
  "https://[2001:4860:4860::8888]/hook",
  "https://[2002:808:808::1]/hook",
  "https://[64:ff9b::808:808]/hook",
  "https://[64:ff9b::8.8.8.8]/hook",
];

describe("checkWebhookUrl (strict)", () => {
  it.each(UNSAFE)("refuses %s", (raw, reason) => {
    const result = checkWebhookUrl(raw, strict);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain(reason);
  });

  it.each(SAFE)("accepts %s", (raw) => {
    const result = checkWebhookUrl(raw, strict);
    expect(result).toMatchObject({ ok: true });
    if (result.ok) expect(result.url.href).toBe(new URL(raw).href);
  });

  it("covers at least 30 unsafe URLs", () => {
    expect(UNSAFE.length).toBeGreaterThanOrEqual(30);
  });
});

describe("checkWebhookUrl (allowPrivate, local development only)", () => {
  it.each([
    "http://localhost:8787/hook",
    "http://127.0.0.1:9000/hook",
    "https://[::1]/hook",
    "http://10.0.0.5/hook",
    "http://receiver/hook",
    "https://169.254.169.254/",
  ])("accepts %s", (raw) => {
    expect(checkWebhookUrl(raw, lax).ok).toBe(true);
  });

  it.each([
    ["http://user:pw@localhost/hook", "credentials"],
    ["ftp://localhost/hook", "https"],
    ["file:///etc/passwd", "https"],
    ["not a url", "spaces"],
    ["localhost:8787/hook", "https"],
  ])("still refuses %s", (raw, reason) => {
    const result = checkWebhookUrl(raw, lax);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain(reason);
  });
});

describe("assertWebhookUrl", () => {
  it("returns the parsed URL when safe", () => {
    expect(assertWebhookUrl("https://example.com/h", strict).hostname).toBe("example.com");
  });

  it("throws a 400 ApiError naming the param", () => {
    const caught = (param?: string): unknown => {
      try {
        assertWebhookUrl("https://127.0.0.1/", strict, param);
      } catch (error) {
        return error;
      }
      return null;
    };
    const error = caught("url");
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 400, param: "url", type: "invalid_request_error" });
    expect((error as ApiError).message).toMatch(/^Webhook URL host .*loopback/);
    expect(caught()).toMatchObject({ param: "webhook" });
  });
});

describe("parseIpv6", () => {
  it.each([
    ["::", [0, 0, 0, 0, 0, 0, 0, 0]],
    ["::1", [0, 0, 0, 0, 0, 0, 0, 1]],
    ["1::", [1, 0, 0, 0, 0, 0, 0, 0]],
    ["1:2:3:4:5:6:7:8", [1, 2, 3, 4, 5, 6, 7, 8]],
    ["::ffff:1.2.3.4", [0, 0, 0, 0, 0, 0xffff, 0x102, 0x304]],
    ["::1.2.3.4", [0, 0, 0, 0, 0, 0, 0x102, 0x304]],
    ["64:FF9B::10.0.0.1", [0x64, 0xff9b, 0, 0, 0, 0, 0xa00, 1]],
  ])("parses %s", (text, groups) => {
    expect(parseIpv6(text)).toEqual(groups);
  });

  it.each(["", ":", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "1::2::3", "12345::", "1:2:3:4:5:6:7::8", "::1.2.3", "g::"])(
    "refuses %j",
    (text) => {
      expect(parseIpv6(text)).toBeNull();
    },
  );
});
