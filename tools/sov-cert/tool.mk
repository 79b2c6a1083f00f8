# sov-cert: OpenSSL libcrypto for ECDSA/RSA keys, JWS signatures, CSRs and
# X.509 parsing (ACME only; DESIGN.md allows it in this tool alone).
LIBS_sov-cert := $(shell $(PKG_CONFIG) --libs libcrypto)
