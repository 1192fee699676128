/* libnettle's SHA-256, HMAC and PBKDF2 for Swift: the database plugin's
 * SCRAM companion (database-scram) only. */
#ifndef FSHOST_CNETTLE_SHIM_H
#define FSHOST_CNETTLE_SHIM_H
#include <nettle/sha2.h>
#include <nettle/hmac.h>
#include <nettle/pbkdf2.h>
#endif
