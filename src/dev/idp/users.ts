// The demo IdP's people. Their passwords are printed by `baton dev`: this is a demo directory.
export interface DemoUser {
  readonly username: string;
  readonly password: string;
  /** Standard claims (OIDC Core section 5.1) the IdP releases; `sub` is the username. */
  readonly claims: Readonly<Record<string, string | boolean>>;
}

export const DEMO_USERS: readonly DemoUser[] = [
  {
    username: 'alice',
    password: 'alice-password',
    claims: {
      name: 'Alice Anderson', given_name: 'Alice', family_name: 'Anderson',
      preferred_username: 'alice@contoso.example', email: 'alice@contoso.example', email_verified: true, locale: 'en-GB',
    },
  },
  {
    username: 'bob',
    password: 'bob-password',
    claims: {
      name: 'Bob Brown', given_name: 'Bob', family_name: 'Brown',
      preferred_username: 'bob@contoso.example', email: 'bob@contoso.example', email_verified: true, locale: 'en-US',
    },
  },
];
