//! The emulator's RSA signing keys.
//!
//! **These are public, emulator-only test keys.** They were generated once with
//! `openssl genrsa -traditional 2048` and are committed on purpose so that the emulator starts
//! fast and its tokens are reproducible. Anyone can read them, so anything they sign proves
//! nothing: never trust them, and never use them outside the emulator and its tests.
//!
//! Three keys form a ring; the JWKS always publishes two neighbours of it (the signing key and
//! the one it replaced), and [`rotate`](super::super::KakaoEmulator::rotate_signing_key) moves
//! one step on, so a client sees a `kid` it has never seen, as after a real Kakao rotation. A
//! fourth key is never published: the unknown-`kid` fault signs with it.

/// A key of the emulator: its `kid` and PKCS#1 PEM private key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeySpec {
    pub kid: &'static str,
    pub pem: &'static str,
}

/// Emulator-only test key `emulator-rs256-a` (public: never trust it).
pub(crate) const KEY_A: KeySpec = KeySpec {
    kid: "emulator-rs256-a",
    pem: "\
-----BEGIN RSA PRIVATE KEY-----\n\
MIIEowIBAAKCAQEAxjxTvYE/l2Tuaww4bHaYo5DKJYnAvBrWEXk6GwYV97/czI2d\n\
UYuGGLvxu9odv1xvv42SWI9Wy+7AvYug7nWtH6DZtf2Tm2+GzX6uycp+hTnebJv9\n\
O2u49aycWkKvi1ptaokWKlF7IJbERmy/IJTXPOil7k0qOG6iwEJbglK76ADlrs7v\n\
eGnEIiClydCRYQb9wN+Szh4q2POYY6CkZ5D8ZJLrZ/TdsLRJ9um8SnPYZKJk1LMS\n\
dc/2mQs1Mt9FomMw2wPnhrnMDEoqsYoB7pc8SGrIy7RdYzFCyOQ6p/2twTvNtwcl\n\
EbUxuN01MCbQWcG6fauIRc4kPWVH7PloAk0rWQIDAQABAoIBABG7zFb31L8/o3d2\n\
kqabTmjVd0v34ILDWNKb2GeZ+gWdh4xR/9iPZXnZeFTQfJhFleaaLNUYz5AzRdE/\n\
CDDE3K2nZ0p5SobdaX8BHfRF1d8nr97h7nuuFY/+tsb5T7hk6MReypmTC/N8oUbW\n\
jBuHTSDxBAUHKKd/ODaASSzlp1Mn9xFxX0dQXEzBwLDzQ+9A3JSQ4eAmBnfHgk2n\n\
OZJLkAseAFz6vUj4qZj84Pi1Gv0PPxpEbk4WaHC+bP0Kp3UUfvg4RHa71FiFelc/\n\
MoHS0sgyDfFpi3h657ljwjkXXNLiAsTWJTYk7hkWblutdBiRSklT195HvJPcynhr\n\
B/m38r0CgYEA6ANWcY7wf1D9ZTsrnzKopW2y65kOxBGWji1URGIAiczVFijcAPgN\n\
+wD563dF7jW5BMcU686eadJFxpbhp7WBOtgm5qk+HWToQhS0ml+fWYjJeDyte8BZ\n\
6eFZi9D3s7gVe+1QK2gSGqgC0XCusejP5SG+MCyfEpS70KlLOSWJ8p0CgYEA2rsB\n\
3WOyxXYajdjjdU7PW891gvl2CD2T8hc6peK8MlTBtYvQHWRB5YYT4p1m48SkLhwz\n\
WldisbjFdzDn3FAogukOuvp8bpeVTxjBMrjnz+2KZ/Q2GY9DPGDE1GCC6xoyhz2/\n\
qZ89Dhd/+L2nhxh47hRdVm8Gk07vYbTRU9jY0O0CgYBV0U47KMT6QsnHlPBYrVNG\n\
BWKF1JJqoZrPsiKWPK24SsSSssBVt2rsafsHRpHeP47VHpI1erKLr9RRVWPYNcG8\n\
M1GIRheMpdNnBeObqjz10Cu9RqxgttBLOyh1F/FXT4La2PerZo4zv+ty7rwfYF7t\n\
gOKpTQf1xoAF+WiylZkF3QKBgE+gWJNx4fjEf/I3jMZ9xDsWER93FSL2187/6dfN\n\
7Nkdxc8DcOXiQ6L85mxPBM/SHDq1BXTT7xfnvesgIKgxfi36DeS/n2DbSf2bc2m1\n\
qp4lSYeCfddcMgve5oiyAbb4uIBHWGi1kZJ5t5qj4ELsA8oYG8qFbI1f5QFaxAGU\n\
JYoZAoGBAM3+1qp4HhhyFC/GAGZrVbGYpJIq5njlyOysYN5Jkdh6IILZW41dA8GR\n\
W9KmsSXTU+UGFyZpDw80cm6qKPAJTZNZ38vq6B9S9gNCOsbAabItdHVmCKTs4csX\n\
9XEUV50ZUGXy4NPmL5NDGiq+tO8CLNAsQFkC0UEfKYK/1UgDz5NI\n\
-----END RSA PRIVATE KEY-----\n",
};

/// Emulator-only test key `emulator-rs256-b` (public: never trust it).
pub(crate) const KEY_B: KeySpec = KeySpec {
    kid: "emulator-rs256-b",
    pem: "\
-----BEGIN RSA PRIVATE KEY-----\n\
MIIEpAIBAAKCAQEAwGKV9fiM3F+mEf0dDzg8LlhWTXNQOsvYBRsGftTIwxR3FAhm\n\
043bNPSRrHYDEuneTyChr0PfRpseTKnFI2SZwmFGJpHw6GNvH4JLcXh8TPAC1UY5\n\
XHTf2No12cD7rVsonbNC19l81E9+DalrJRYn9Z0cF97i1rqM11Si5enVJZoTzO68\n\
ki9924JUu3GUcG5r01QGM1LAjpLZPHXpxr4mkn3Kf0mXtNclmL7mUmXcPjNwun+Z\n\
T0j8gkgWC1/V0r1yaPT6GlNSZsw/4NdUNuR07BuSzNd+LNVV/zQJK9s0V0H04aIO\n\
ClV51CiLFUX7wwR/P3bX28oWinowi+0sfG6T8wIDAQABAoIBABXGkubGfVssUGXU\n\
2ocwfE9anFoj5T7id88MIg4VE6xRErFnygvEEL3LuPlmWi633fvi26o06n7Za/KN\n\
fMzmxCimTgRrnHMRXjCY1OVBGAC1Yfy1+CQo7nVjLZk6KMKUgOJoufYoneKCJOhy\n\
9re57Ef2wolJJy/a6bot0Eppz0B0H7w58gpIr9CMPPn+yznF/Yg1+UqysG/nAqy0\n\
6ue66/NfLxEYFfs/lIr7o5hw2aCvkgpFBhtEcYMIBFB32Ya4vRmmajVX5pyxnian\n\
G5hp3FeKNE4J+cGbJyD7istd0Y2GfaTdmRRGE+rexclAn92Y7gEcr9T3w8mPncEi\n\
JAF2mcECgYEA8tV83K/PGjRVwV7cd2Ws4YE/yM96lvToO0E3y608qInCeyql6eyQ\n\
qqpZycOC7bcTSNO4ByaGSW1W6/CQZZ1MUgIqiS4nwkcUiLqb3LdbWePRzRzSNibu\n\
CvXIHGcHYrLeF1nt8lEXD413MOUmPv4rjLdeZybAXtcpA8caL0/yajECgYEAytDf\n\
eJ7ZPf5qTA35oqXODqCkcUVWbquP4s4vkUYZfP0Y0ZBw6TuOVqz03OryC4hlSkeU\n\
acWO1nBXrwXkJRgHmWHoMbUWX/7bBnILEwUKoeuxyuy/7Ag4Bc3DlvGrjDq3jD7G\n\
MZuX/4lX8nK3IaugkhuASOTQirjKVLTQmllT82MCgYBRmRdZ+OG4xnlCfyPKIypS\n\
pGHQkpd4/lbDAolDMbU+VPw68vvJfSqnjpKZT89BHdGnGS2viWx6Y/lfUvjSjGbG\n\
799nNVE64TOvNjWFlz9lFz66k8K3W6GFoU1a7ev3aG9knV1tnX4IRdsVXQrbBAGS\n\
SVO5ibX+qIIpuM+9sjmdIQKBgQCMk2QhpfCr0Jj66EDcZJJDf0Mbo9S51r5flUxR\n\
JEZsZL18G+K3Nml9WFpMeaiVJ9AVQTH0clOD/NA55xpwP4yc2sjnEz5UAUDs4cUd\n\
RMRO4SAVqC2Ku1OhajKkgBPImbY5RhV3swISw66qxKp8cwpT2y362GZXkKflOILS\n\
SRIwQwKBgQDZiKYs5frWdz1qNlJngRnXhVFZvzZ9nvJYgKAy4OFxpbVaLMyLLSBR\n\
o/VnmRhM4yBmR4qne+2sPGC5bAw4PeX6EGlFgzpU6XRO+CFf4jZ4EXEILcdntCLG\n\
AF9Q7p/372LIUi1OMZracjgHndeJHIWqrZxgcrUFWG93rQkCLfOXWQ==\n\
-----END RSA PRIVATE KEY-----\n",
};

/// Emulator-only test key `emulator-rs256-c` (public: never trust it).
pub(crate) const KEY_C: KeySpec = KeySpec {
    kid: "emulator-rs256-c",
    pem: "\
-----BEGIN RSA PRIVATE KEY-----\n\
MIIEpAIBAAKCAQEA5LXVVH+LS6RkYhxRTGGjCO80q7UCz7Fi5Rmn8DDb2cy5MaA2\n\
ggyW8MB2FDqt4c1x+fNs3MCjKqIqvkHgM0+AHChGQpSQ98HpPw68quYAx1SE/MYZ\n\
fa39+Dgpksz6+nrITjhD7cEHpQh+h87tVcDpEkrQ3S6UmKYBvDTbufXdis/BeRoO\n\
kNgto5a51nUy0o9ii7lyCj+9OoEJqfz8LJX4f0Dk9Nr33U6Ifr2cCWEqWuGatenV\n\
xqy/j4tuhP/LetfRc1u6YRWOxfDltmiE/V6mpuTolC/qdmeQeXXIvWKfeZIus+19\n\
sScj0q4ZSd1F30Bw37vp1l7P8gPolhrtO0LXtwIDAQABAoIBAGfp5+3270KkhAmB\n\
pTyHhgxKpss3OHpGNdEy2XdLs7AfEKuoB+wJrVDgmSWyzYsxDY6L19Pq4Je/y5zb\n\
EHMvtVzVvaqFluJC4+eHGhip3QOz9qJknXNZaPFtDxKIeKXywGytqsts7zzAAcFR\n\
tsrGFf9+J6y++7vpfRNWjtjMiWaGB00ywb+RNRTETfChVrQ+lHzYJXfhYvjMvQNR\n\
vaEERofMXsigi9nJCjSqnWisV9VZahsGpDMPClT/rsDPFCW73B3pIeLBZBpS9K2E\n\
EE+gkRhLVfSpTDwXQ7FGENUAh4gck1m3VqqgvfZ8F7/3SbKNRP8wRpa0WOUfy49g\n\
Nc1cLUUCgYEA/sDLxsrHRgBSz7sP7PgxVCMuYTxVU18C24JTySGvEBd0BjUYehyJ\n\
vQ2isBYBMNs5mEvnBAY5rp6swgG320fOQ8nrbGJaEhQ5rzGtxJKs00LV5njXQP/4\n\
ZKNQBbhGdPCt323aFvt6962E4dTw/ikZ7PUoytORQoQ3QyrynSMO91UCgYEA5dRn\n\
5HZoSHdMm+SThzj1KoxavuNkqBwEzLuxW9bZlfXRJ7t2Znfrc/HIo8gh11xwdBok\n\
u+zyjaz6/uxREsixIWw7VWlIG2vq1OZUR+jvdEVFoSrDePLUbt63hVvjj4kcMoEe\n\
+WuFWaUV1gsnQKIJgviQiQVqxrjcjLvpDlu8OtsCgYBG/sPLaseOIpjxe1g82g4l\n\
PIi4YHAHA/tv4Sooa1K2UVLsR+/CWCGqphooqHk8fFvYrY57+KAqod3TU1dBrQk2\n\
qxcI5X/kee55fIbIuXegiIfD6vlSDAPVSA4NCgXYoRpTofGdZggm7hySMx3WNu4a\n\
s1fi7oMU3nPoLBfg4txQ4QKBgQDVa8sWMoZgVLhFQ5tjxJaV7kQOYycDnREv9VOb\n\
jwX65YxWMxSdztpMjsfcn2odjO+4QNa/1CbhPTLPKy+WG9uwx8rJY7zcCfjFvyWg\n\
qURDWlhwcz+VvxlZ42PUaSIGFjKjC5hx0VDBkDWY0D6hHFds0dmWA/vFkcDsx0qC\n\
VNmUZQKBgQD4hVa6QtWIKAUhf80cGKCqsuIGF4Z93bbCwCH3CE0sd/MdyELnKnYm\n\
6nIIV3dzxU2QdsGJWsZK5+UQVWaROxlL3uOB/DZRdKqnNnBwu/CcWzMlP2qgrPLU\n\
zU0vhlfBvUYVee9U5NA4Y3o6HET08cOeE5NRaBaAUBVXbcz4m1hwfQ==\n\
-----END RSA PRIVATE KEY-----\n",
};

/// Emulator-only test key `emulator-rs256-unpublished` (public: never trust it).
pub(crate) const KEY_UNPUBLISHED: KeySpec = KeySpec {
    kid: "emulator-rs256-unpublished",
    pem: "\
-----BEGIN RSA PRIVATE KEY-----\n\
MIIEowIBAAKCAQEA/U+DwaWKrLgIIdPM2uVKjGDpsh26trir4bIXQBWjDRip+DPb\n\
WWf//MShG3OkWs9q9uKgp84zRuAkSHA1EzalTJDou21jioIYGmjlpSe9kmpkh1bU\n\
f/mOtfpq4J8sHnIWOthsuMrLPgdmwJzF+Qful7ZiAVQwlUVRX5zm29cR90LsAqQ2\n\
cIagirKU0XWD45cYHCIiEB+Be4Adwt3TKTGGezDbU8XxqnSbIr8qpM92WYDJG8UW\n\
/ZKmmWq8fkjbEp4SvMTAGtatz1eJWYaO6yqvvNgcdCBhhy9MHNCl/nY6vlaQoa35\n\
3AFyGkEMVq5CSRWgpLZuZ4LHILVkVTxKY7iL4QIDAQABAoIBABJulIME+W3/dyIF\n\
ACFGcXH9BExAYwt0LRefZpc0a9iiXI3RsiqTiXo6UZHGjKVJ9fnQfEmxlKQZ37IA\n\
ri//eDA11CV9PHLB7CCR1PH7Tg1HHhkF/bDxNwvxVJETK/nsKcdu45xfr0HMdpLZ\n\
5YLtK5SRAhkgJ+fYsybeqyLAh89iw2vZdpHb61qWI7Z0/8sldtbJQlJjY8seQUo6\n\
eSK2X32h1/7WMz+BhIfIOU24W/y/FHZV+xKcgHr6fOtUOxGGLyHjZXRSdomSbms0\n\
tU/hyXuul9YL3GPfk0Sxr1rl71a4u/ycROQ8HtVsqQMw9cAJhOsrx+RXmBDwwgzo\n\
YA07i5ECgYEA/sO3JTMByFy/q3M3VfIuVtkv8vK7UXvje8Eb71ZbgPWTfUy5e6Nr\n\
uBV0hptxUtyXUa6xNGijCVBZ4Gfe8uvyvBnEGnpvGW2KuOynrlQhZbENPDa+C055\n\
6qLIvCPyp3io5hYdKpqqFMTGapVmdYoroAQMZ+pAGawkegppPatx1ckCgYEA/on+\n\
iDKU5cmrcZVIg2zTWzy9is+DVzMvXcpQ0+j6z2w7S5rJaBlhRhSlWMNKGpInQfZm\n\
w0sNDfQMILDMJuSBS96TVJE0EKfpWNpSteFlJdayMbx7J7TI6ekaawKPKHY3l9F1\n\
3FcYeLJBt9AtzpkUfqonwrVHfLIworKETJVL8VkCgYEA5mcOTWAx7oii92W918as\n\
zfKiALAxZGIMu7FLmEqbeqed+aXX4c9L7jHJLquJ84x4dXDt5h3zxMqcXezSnxNw\n\
dVlAF0o/C9obqV6tz2VaxuM2uwwvF36jl+YccLp6C6d96Ih7XDqAM0Q6xc3T2d1Z\n\
0t+WcKxTyGP8oTqlLxbMXrECgYBkqLOkrsQdXzRSdaO4fYfT0+BtDYU2LcK0h3aR\n\
ZtgQwQ9t5adyaF8EdNOyl4Ato9CskEGxR3PBKdrF7sS9OK49D6cZ0VZSo+Ruw9/j\n\
l2AFp7LOYmgdmqu9fPZ6jQeKC74OZsICQdsml+/PPh9vTTBCqw2QPVoo4NrE7G3P\n\
T1c5+QKBgEKYM4OkQZXNJcDZVuaqjxWoeR6cOlSG2f6ENYXgtkqHoR4z90TxG7m8\n\
/z4Sb/h60qz1aJ+a+EtK8SM6JqA8YsgdofeBrTtio26Rov4ftEihakthx3XwdSiE\n\
Ndzja8fNyk4OBu/WtsEo7ZuzIO8NVKvWD8YDPtd27ZJGdhIBgebc\n\
-----END RSA PRIVATE KEY-----\n",
};

/// The published ring, in rotation order.
pub(crate) const RING: [KeySpec; 3] = [KEY_A, KEY_B, KEY_C];
