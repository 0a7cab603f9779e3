#ifndef CAGENTCUBE_CRYPTO_H
#define CAGENTCUBE_CRYPTO_H

#include <stddef.h>
#include <openssl/evp.h>

/// A SHA-256 context from libcrypto, or NULL when it cannot be made.
static inline EVP_MD_CTX *agentcube_sha256_new(void) {
  EVP_MD_CTX *context = EVP_MD_CTX_new();
  if (context != NULL && EVP_DigestInit_ex(context, EVP_sha256(), NULL) != 1) {
    EVP_MD_CTX_free(context);
    return NULL;
  }
  return context;
}

/// Adds bytes; 1 on success.
static inline int agentcube_sha256_update(EVP_MD_CTX *context, const void *bytes, size_t count) {
  return EVP_DigestUpdate(context, bytes, count);
}

/// Writes the 32-byte digest; 1 on success. The context may be used no more but must be freed.
static inline int agentcube_sha256_final(EVP_MD_CTX *context, unsigned char *digest32) {
  unsigned int length = 0;
  return EVP_DigestFinal_ex(context, digest32, &length);
}

static inline void agentcube_sha256_free(EVP_MD_CTX *context) { EVP_MD_CTX_free(context); }

#endif
