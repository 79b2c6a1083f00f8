# sov-probe: the C library's DNS resolver (res_nquery, ns_parserr) for dns
# targets; part of glibc, a separate archive only for historical reasons.
LIBS_sov-probe := -lresolv
