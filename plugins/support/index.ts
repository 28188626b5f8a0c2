import { Announcements, Tokens, definePlugin } from '../../kernel/api';
import { AnnouncementBoard } from './announcements';
import { supportConfig } from './config';
import { Announcement } from './entities/announcement';
import { Note } from './entities/note';
import { SupportTicket, TicketMessage } from './entities/ticket';
import { Support1700000410000 } from './migrations/1700000410000-support';
import { announcementRoutes } from './routes/announcements';
import { noteRoutes } from './routes/notes';
import { ticketRoutes } from './routes/tickets';
import { SUPPORT_TEMPLATES } from './templates';
import { TicketDesk } from './tickets';

export default definePlugin({
  name: 'support',
  version: '1.0.0',
  kernelApi: '2',
  consumes: [],
  description: 'Support tickets (numbered per day, threaded, mailed and alerted), the notepad, and announcements',
  config: supportConfig,
  register(ctx) {
    const ds = () => ctx.resolve(Tokens.DataSource);
    const clock = () => ctx.resolve(Tokens.Clock);
    const pager = () => ctx.resolve(Tokens.Pager);
    const directory = () => ctx.resolve(Tokens.Instances);
    ctx.entities(SupportTicket, TicketMessage, Note, Announcement);
    ctx.migrations(Support1700000410000);
    ctx.provide(Announcements, () => new AnnouncementBoard(ds, clock));
    ctx.routes((r) => {
      const desk = new TicketDesk({
        ds, config: ctx.config, clock, directory,
        access: () => ctx.resolve(Tokens.Access), notifications: () => ctx.resolve(Tokens.Notifications),
      });
      ticketRoutes(r, { ds, config: ctx.config, desk, pager });
      noteRoutes(r, { ds, config: ctx.config });
      announcementRoutes(r, { ds, clock, directory, pager });
    });
  },
  async start(ctx) {
    const templates = ctx.resolve(Tokens.NotificationTemplates);
    for (const t of SUPPORT_TEMPLATES) if (!templates.get(t.name)) templates.define(t);
  },
});
