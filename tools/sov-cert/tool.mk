# sov-cert: OpenSSL libcrypto for ECDSA/RSA keys, JWS signatures, CSRs and
# X.509 parsing (ACME only; DESIGN.md allows it in this tool alone).
# libssl for tls-alpn-01's TLS server (challenge_tlsalpn.c) alone.
LIBS_sov-cert := $(shell $(PKG_CONFIG) --libs libssl libcrypto)
