/* cmd_verify_token — `retrainctl verify-token`: checks one ID token as the workers would.
 *
 *   retrainctl verify-token [--jwks URL|FILE] [--audience A] [--service-account E]
 *                           [--now EPOCH] TOKEN|-
 *
 * Defaults come from the config (RETRAIN_CONFIG) and the environment (RETRAIN_AUDIENCE, ...);
 * the options replace them. --jwks takes an http(s) URL or a file holding a JWK set; "-" reads
 * the token from stdin. No token cache and no shared key file are used.
 *
 * Prints the verified claims as one JSON object on stdout and returns 0; or prints the reason
 * code (auth_result_code) on stderr and returns 1; returns 2 on a usage error or when no key set
 * can be had (keys_unavailable) or the config does not load. ARGV[0] is "verify-token". */
#ifndef RT_CMD_VERIFY_TOKEN_H
#define RT_CMD_VERIFY_TOKEN_H

int cmd_verify_token(int argc, char **argv);

#endif
