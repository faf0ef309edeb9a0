/**
 * The Adaptive Card 1.4 schema as zod, for the local Teams Workflows server.
 *
 * No npm package ships the published `adaptive-card.json` (checked: `adaptivecards`,
 * `adaptivecards-designer`, `adaptivecards-templating`, `@microsoft/adaptivecards-tools`,
 * `@microsoft/teams.cards`), so this is written from the documented 1.4 element schema
 * (adaptivecards.io/schemas/1.4.0/adaptive-card.json and the schema explorer): the same
 * element types, property names, required properties, `additionalProperties: false`
 * everywhere, and the case-insensitive enums. Elements newer than 1.4 (`Table`, `Carousel`,
 * `Action.Popover`…) are unknown types. Inputs and `Media` are checked for their type and
 * required properties only; Cano never sends them. One host extension is allowed, as Teams
 * documents: `msteams` on the card (`width: "Full"`, `entities`).
 *
 * @module
 */
import { z } from "zod";

const anyCase = (...values: string[]) =>
  z.string().refine((v) => values.some((value) => value.toLowerCase() === v.toLowerCase()), {
    error: `Value must be one of ${values.join(", ")}`,
  });

const Spacing = anyCase("default", "none", "small", "medium", "large", "extraLarge", "padding");
const Colors = anyCase("default", "dark", "light", "accent", "good", "warning", "attention");
const FontSize = anyCase("default", "small", "medium", "large", "extraLarge");
const FontWeight = anyCase("default", "lighter", "bolder");
const FontType = anyCase("default", "monospace");
const HorizontalAlignment = anyCase("left", "center", "right");
const VerticalAlignment = anyCase("top", "center", "bottom");
const BlockElementHeight = anyCase("auto", "stretch");
const ContainerStyle = anyCase("default", "emphasis", "good", "attention", "warning", "accent");
const ImageSize = anyCase("auto", "stretch", "small", "medium", "large");
const ImageStyle = anyCase("default", "person");
const ActionStyle = anyCase("default", "positive", "destructive");
const AssociatedInputs = anyCase("auto", "none");
const FallbackOption = anyCase("drop");
const UriReference = z.string().refine((v) => !/\s/.test(v.trim()) && v.trim() === v, {
  error: "Value must be a URI reference",
});
const Requires = z.record(z.string(), z.string());
const BackgroundImage = z.union([
  UriReference,
  z.strictObject({
    type: z.literal("BackgroundImage").optional(),
    url: UriReference,
    fillMode: anyCase("cover", "repeatHorizontally", "repeatVertically", "repeat").optional(),
    horizontalAlignment: HorizontalAlignment.optional(),
    verticalAlignment: VerticalAlignment.optional(),
  }),
]);

/** Properties every element has (Extendable.Element). */
const element = {
  id: z.string().optional(),
  isVisible: z.boolean().optional(),
  requires: Requires.optional(),
  separator: z.boolean().optional(),
  spacing: Spacing.optional(),
  height: BlockElementHeight.optional(),
  fallback: z.lazy(() => z.union([FallbackOption, Element])).optional(),
};

const actionBase = {
  title: z.string().optional(),
  iconUrl: UriReference.optional(),
  style: ActionStyle.optional(),
  requires: Requires.optional(),
  fallback: z.lazy(() => z.union([FallbackOption, Action])).optional(),
};

const OpenUrl = z.strictObject({
  type: z.literal("Action.OpenUrl"),
  url: UriReference,
  ...actionBase,
});
const Submit = z.strictObject({
  type: z.literal("Action.Submit"),
  data: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
  associatedInputs: AssociatedInputs.optional(),
  ...actionBase,
});
const Execute = z.strictObject({
  type: z.literal("Action.Execute"),
  verb: z.string().optional(),
  data: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
  associatedInputs: AssociatedInputs.optional(),
  ...actionBase,
});
const ToggleVisibility = z.strictObject({
  type: z.literal("Action.ToggleVisibility"),
  targetElements: z.array(z.union([
    z.string(),
    z.strictObject({
      type: z.literal("TargetElement").optional(),
      elementId: z.string(),
      isVisible: z.boolean().nullable().optional(),
    }),
  ])).optional(),
  ...actionBase,
});
const ShowCard = z.strictObject({
  type: z.literal("Action.ShowCard"),
  get card() {
    return CardBody.optional();
  },
  ...actionBase,
});

/** Any 1.4 action. */
export const Action: z.ZodType = z.discriminatedUnion("type", [
  OpenUrl,
  Submit,
  Execute,
  ToggleVisibility,
  ShowCard,
]);
const SelectAction: z.ZodType = z.discriminatedUnion("type", [
  OpenUrl,
  Submit,
  Execute,
  ToggleVisibility,
]);

const TextBlock = z.strictObject({
  type: z.literal("TextBlock"),
  text: z.string(),
  color: Colors.optional(),
  fontType: FontType.optional(),
  horizontalAlignment: HorizontalAlignment.optional(),
  isSubtle: z.boolean().optional(),
  maxLines: z.number().optional(),
  size: FontSize.optional(),
  weight: FontWeight.optional(),
  wrap: z.boolean().optional(),
  ...element,
});
const FactSet = z.strictObject({
  type: z.literal("FactSet"),
  facts: z.array(z.strictObject({
    type: z.literal("Fact").optional(),
    title: z.string(),
    value: z.string(),
  })),
  ...element,
});
const ImageShape = {
  ...element,
  url: UriReference,
  altText: z.string().optional(),
  backgroundColor: z.string().optional(),
  height: z.string().optional(),
  horizontalAlignment: HorizontalAlignment.optional(),
  selectAction: SelectAction.optional(),
  size: ImageSize.optional(),
  style: ImageStyle.optional(),
  width: z.string().optional(),
};
const Image = z.strictObject({ type: z.literal("Image"), ...ImageShape });
const ImageSet = z.strictObject({
  type: z.literal("ImageSet"),
  images: z.array(z.strictObject({ type: z.literal("Image").optional(), ...ImageShape })),
  imageSize: ImageSize.optional(),
  ...element,
});
const containerShape = {
  selectAction: SelectAction.optional(),
  style: ContainerStyle.nullable().optional(),
  verticalContentAlignment: VerticalAlignment.optional(),
  bleed: z.boolean().optional(),
  backgroundImage: BackgroundImage.optional(),
  minHeight: z.string().optional(),
};
const Container = z.strictObject({
  type: z.literal("Container"),
  get items() {
    return z.array(Element);
  },
  ...containerShape,
  ...element,
});
const Column = z.strictObject({
  type: z.literal("Column").optional(),
  get items() {
    return z.array(Element).optional();
  },
  width: z.union([z.string(), z.number()]).optional(),
  ...containerShape,
  ...element,
});
const ColumnSet = z.strictObject({
  type: z.literal("ColumnSet"),
  columns: z.array(Column).optional(),
  selectAction: SelectAction.optional(),
  style: ContainerStyle.nullable().optional(),
  bleed: z.boolean().optional(),
  minHeight: z.string().optional(),
  horizontalAlignment: HorizontalAlignment.optional(),
  ...element,
});
const ActionSet = z.strictObject({
  type: z.literal("ActionSet"),
  actions: z.array(Action),
  ...element,
});
const RichTextBlock = z.strictObject({
  type: z.literal("RichTextBlock"),
  inlines: z.array(z.union([
    z.string(),
    z.strictObject({
      type: z.literal("TextRun").optional(),
      text: z.string(),
      color: Colors.optional(),
      fontType: FontType.optional(),
      highlight: z.boolean().optional(),
      isSubtle: z.boolean().optional(),
      italic: z.boolean().optional(),
      selectAction: SelectAction.optional(),
      size: FontSize.optional(),
      strikethrough: z.boolean().optional(),
      underline: z.boolean().optional(),
      weight: FontWeight.optional(),
    }),
  ])),
  horizontalAlignment: HorizontalAlignment.optional(),
  ...element,
});
const input = (type: string, required: Record<string, z.ZodType> = {}) =>
  z.looseObject({ type: z.literal(type), id: z.string(), ...required });

/** Any 1.4 element. */
export const Element: z.ZodType = z.discriminatedUnion("type", [
  TextBlock,
  FactSet,
  Image,
  ImageSet,
  Container,
  ColumnSet,
  ActionSet,
  RichTextBlock,
  z.looseObject({ type: z.literal("Media"), sources: z.array(z.unknown()) }),
  input("Input.Text"),
  input("Input.Number"),
  input("Input.Date"),
  input("Input.Time"),
  input("Input.Toggle", { title: z.string() }),
  input("Input.ChoiceSet", { choices: z.array(z.unknown()) }),
]);

const cardShape = {
  type: z.literal("AdaptiveCard", { error: "Property 'type' must be 'AdaptiveCard'" }),
  version: z.string().optional(),
  body: z.array(Element).optional(),
  actions: z.array(Action).optional(),
  selectAction: SelectAction.optional(),
  fallbackText: z.string().optional(),
  backgroundImage: BackgroundImage.optional(),
  minHeight: z.string().optional(),
  speak: z.string().optional(),
  lang: z.string().optional(),
  verticalContentAlignment: VerticalAlignment.optional(),
  refresh: z.strictObject({
    type: z.literal("Refresh").optional(),
    action: Execute.optional(),
    userIds: z.array(z.string()).optional(),
  }).optional(),
  $schema: z.url().optional(),
};
const CardBody = z.strictObject(cardShape);

/** A top-level card as Teams takes it: a version is required, `msteams` is allowed. */
export const AdaptiveCardSchema = z.strictObject({
  ...cardShape,
  version: z.string().regex(/^1\.[0-5]$/, {
    error: "Card version must be 1.0 to 1.5 (Teams renders up to 1.5)",
  }),
  msteams: z.strictObject({
    width: anyCase("Full").optional(),
    entities: z.array(z.unknown()).optional(),
  }).optional(),
});
