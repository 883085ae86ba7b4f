// The auth contract: a token resolves to a principal (tenant, admin?) or to
// nothing. Providers: static (a tokens file) and swift (the tenant's own Swift
// account accepts the token).
export interface Principal {
  tenantId: string;
  admin: boolean;
  /** the caller's token, passed to stores that write with the user's own credentials */
  token: string;
}

export interface AuthProvider {
  readonly kind: 'static' | 'swift';
  /**
   * The principal for `token`, or null when the token is unknown or refused.
   * `tenantId` is the tenant the request's path names: providers that check the
   * token against that tenant's account (swift) need it.
   */
  authenticate(token: string, tenantId: string | null): Promise<Principal | null>;
  close?(): Promise<void>;
}
