/**
 * Every destination type Cano ships, as one hand-written list sorted by type.
 *
 * To add a destination: write `engine/destinations/<type>.ts`, then add its default export to
 * {@linkcode DESTINATIONS} and its config schema to {@linkcode DestinationConfigSchema}.
 * The shared suite in `common_case_test.ts` then asks for a sample config of the new type.
 *
 * @example Parse a destination config and find its type
 * ```ts
 * import { DestinationConfigSchema, getDestination } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const config = DestinationConfigSchema.parse({
 *   name: "ops-hook", type: "webhook", url: "https://hooks.example.com/cano",
 * });
 * assert.equal(config.type === "webhook" && config.timeoutMs, 10_000);
 * assert.equal(getDestination(config.type).type, "webhook");
 * ```
 *
 * @module
 */
import { z } from "zod";
import type { Destination } from "./destination.ts";
import discord, { DiscordConfigSchema } from "./discord.ts";
import email, { EmailConfigSchema } from "./email.ts";
import file, { FileConfigSchema } from "./file.ts";
import googleChat, { GoogleChatConfigSchema } from "./google_chat.ts";
import jira, { JiraConfigSchema } from "./jira.ts";
import kafka, { KafkaConfigSchema } from "./kafka.ts";
import mattermost, { MattermostConfigSchema } from "./mattermost.ts";
import opsgenie, { OpsgenieConfigSchema } from "./opsgenie.ts";
import pagerduty, { PagerDutyConfigSchema } from "./pagerduty.ts";
import slack, { SlackConfigSchema } from "./slack.ts";
import stdout, { StdoutConfigSchema } from "./stdout.ts";
import teams, { TeamsConfigSchema } from "./teams.ts";
import telegram, { TelegramConfigSchema } from "./telegram.ts";
import webex, { WebexConfigSchema } from "./webex.ts";
import webhook, { WebhookConfigSchema } from "./webhook.ts";

export { type DiscordConfig, DiscordConfigSchema, type DiscordPayload } from "./discord.ts";
export { type EmailConfig, EmailConfigSchema, type EmailPayload } from "./email.ts";
export { type FileConfig, FileConfigSchema } from "./file.ts";
export { type ChatMessage, type GoogleChatConfig, GoogleChatConfigSchema } from "./google_chat.ts";
export { type KafkaConfig, KafkaConfigSchema, type KafkaPayload } from "./kafka.ts";
export {
  type MattermostConfig,
  MattermostConfigSchema,
  type MattermostPayload,
} from "./mattermost.ts";
export { type PagerDutyConfig, PagerDutyConfigSchema, type PagerDutyEvent } from "./pagerduty.ts";
export { type SlackConfig, SlackConfigSchema, type SlackPayload } from "./slack.ts";
export { type StdoutConfig, StdoutConfigSchema } from "./stdout.ts";
export { type TeamsConfig, TeamsConfigSchema, type TeamsMessage } from "./teams.ts";
export { type TelegramConfig, TelegramConfigSchema, type TelegramPayload } from "./telegram.ts";
export { type WebexConfig, WebexConfigSchema, type WebexPayload } from "./webex.ts";
export {
  type WebhookBody,
  type WebhookConfig,
  WebhookConfigSchema,
  type WebhookPayload,
} from "./webhook.ts";

/** The config block of any destination, discriminated on `type`. */
export const DestinationConfigSchema = z.discriminatedUnion("type", [
  DiscordConfigSchema,
  EmailConfigSchema,
  FileConfigSchema,
  GoogleChatConfigSchema,
  JiraConfigSchema,
  KafkaConfigSchema,
  MattermostConfigSchema,
  OpsgenieConfigSchema,
  PagerDutyConfigSchema,
  SlackConfigSchema,
  StdoutConfigSchema,
  TeamsConfigSchema,
  TelegramConfigSchema,
  WebexConfigSchema,
  WebhookConfigSchema,
]);
/** The config of any destination, defaults applied. */
export type DestinationConfig = z.infer<typeof DestinationConfigSchema>;
/** Every destination type name. */
export type DestinationType = DestinationConfig["type"];
/** A destination of any type, as the delivery layer handles it. */
export type AnyDestination = Destination<DestinationConfig, unknown>;

/** Every destination, sorted by type. */
export const DESTINATIONS: readonly AnyDestination[] = Object.freeze([
  discord,
  email,
  file,
  googleChat,
  jira,
  kafka,
  mattermost,
  opsgenie,
  pagerduty,
  slack,
  stdout,
  teams,
  telegram,
  webex,
  webhook,
]);

/**
 * Finds a destination by type.
 *
 * @param type The config's `type`.
 * @returns The destination.
 * @throws {RangeError} When no destination has that type.
 * @example
 * ```ts
 * import { getDestination } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(getDestination("stdout").type, "stdout");
 * assert.throws(() => getDestination("fax"), RangeError);
 * ```
 */
export function getDestination(type: string): AnyDestination {
  const destination = DESTINATIONS.find((d) => d.type === type);
  if (destination === undefined) {
    throw new RangeError(
      `Cannot find destination type "${type}": expected one of ${
        DESTINATIONS.map((d) => `"${d.type}"`).join(", ")
      }`,
    );
  }
  return destination;
}
