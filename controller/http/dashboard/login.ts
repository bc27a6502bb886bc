/// <reference lib="dom" />
/**
 * The page's login: who the connection is (`whoami`) and a small form that reconnects the link
 * as another user. The password goes only into the new connection's options: never into storage,
 * the URL or the page (the field is cleared whatever the outcome).
 */
import { byId } from './dom.js';
import type { Link } from './link.js';
import type { Identity } from './role-gate.js';

export class LoginBox {
  private readonly who = byId('who');
  private readonly open = byId<HTMLButtonElement>('login-open');
  private readonly logout = byId<HTMLButtonElement>('logout');
  private readonly form = byId<HTMLFormElement>('login-form');
  private readonly user = byId<HTMLInputElement>('login-user');
  private readonly password = byId<HTMLInputElement>('login-password');
  private readonly error = byId('login-error');
  private loggedIn = false;

  constructor(
    private readonly link: Link,
    private readonly onIdentity: (id: Identity) => void,
  ) {
    this.open.addEventListener('click', () => this.showForm(this.form.hidden));
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      const credentials = { username: this.user.value.trim(), password: this.password.value };
      this.password.value = '';
      void this.switchTo(credentials);
    });
    this.logout.addEventListener('click', () => void this.switchTo(null));
  }

  /** Asks the controller who this connection is and shows it. */
  async refresh(): Promise<void> {
    let id: Identity;
    try {
      id = await this.link.request('whoami', {});
    } catch (err) {
      // An older controller without whoami: the role is unknown and refusals speak for themselves.
      console.warn(`whoami: ${(err as Error).message}`);
      id = { user: null, role: null };
    }
    this.who.textContent = id.user ? `${id.user} (${id.role})` : '';
    this.open.hidden = this.loggedIn;
    this.logout.hidden = !this.loggedIn;
    this.onIdentity(id);
  }

  private showForm(show: boolean): void {
    this.form.hidden = !show;
    this.error.textContent = '';
    if (show) this.user.focus();
  }

  /** null: back to the page's own (read-only) login. */
  private async switchTo(credentials: { username: string; password: string } | null): Promise<void> {
    this.error.textContent = credentials ? `logging in as ${credentials.username}…` : '';
    try {
      await this.link.switchCredentials(credentials);
    } catch (err) {
      this.error.textContent = `log-in refused: ${(err as Error).message}`;
      return;
    }
    this.loggedIn = credentials !== null;
    this.showForm(false);
    await this.refresh();
  }
}
