// node-oidc-provider 9 as an RFC 8705 authorization server: tls_client_auth by subject DN and
// certificate-bound JWT access tokens, on Node's https server asking for client certificates.
//
// Usage: node provider.js STATE_DIR PORT
// STATE_DIR is an emulator state directory (ca.pem, server.pem/key, client.pem). Prints
// "listening ISSUER" when ready. Logs no token.
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';

import Provider from 'oidc-provider';

const [stateDir, port] = process.argv.slice(2);
const file = (name) => readFileSync(`${stateDir}/${name}`);
const issuer = `https://localhost:${port}`;
const resource = 'https://uatapi.reged.com';
const clientSubject = new X509Certificate(file('client.pem')).subject;

const signingKey = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .privateKey.export({ format: 'jwk' });

const peerCertificate = (ctx) => ctx.socket.getPeerX509Certificate?.() ?? undefined;

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'reged-dev-client',
    token_endpoint_auth_method: 'tls_client_auth',
    tls_client_auth_subject_dn: clientSubject,
    tls_client_certificate_bound_access_tokens: true,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope: 'read write',
    id_token_signed_response_alg: 'ES256',
  }],
  scopes: ['read', 'write'],
  clientAuthMethods: ['tls_client_auth'],
  jwks: { keys: [{ ...signingKey, kid: 'node-es256', alg: 'ES256', use: 'sig' }] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    mTLS: {
      enabled: true,
      certificateBoundAccessTokens: true,
      tlsClientAuth: true,
      getCertificate: peerCertificate,
      certificateAuthorized: (ctx) => ctx.socket.authorized === true,
      certificateSubjectMatches(ctx, property, expected) {
        const certificate = peerCertificate(ctx);
        return property === 'tls_client_auth_subject_dn' && certificate?.subject === expected;
      },
    },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'read write',
        audience: resource,
        accessTokenTTL: 900,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'ES256' } },
      }),
    },
  },
});
provider.proxy = false;

const server = https.createServer({
  key: file('server.key'),
  cert: file('server.pem'),
  ca: file('ca.pem'),
  requestCert: true,
  rejectUnauthorized: false,
}, provider.callback());

server.keepAliveTimeout = 30_000;
server.listen(Number(port), '127.0.0.1', () => {
  console.log(`listening ${issuer}`);
});
