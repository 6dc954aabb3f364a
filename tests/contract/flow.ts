// The requests of client_flow.py, built against the types openapi-typescript generates from our
// schema (schema.d.ts, generated next to this file at test time). `tsc --strict --noEmit` must
// accept it: the request bodies, path ids and query filters type-check, and so do the fields the
// flow reads from the answers.
import type { components, operations, paths } from "./schema";

type Schemas = components["schemas"];
type Json<T> = T extends { content: { "application/json": infer B } } ? B : never;

// --- admin: a theater, a screen with seats, a movie, a show, the report --------------------------
const theater: Json<paths["/api/v1/theaters/"]["post"]["requestBody"]> = {
  name: "Odeon",
  timezone: "Europe/Berlin",
  currency: "usd",
};
const screen: Schemas["ScreenRequest"] = { theater: 1, name: "1" };
const grid: Schemas["SeatGridRequest"] = { rows: 4, seats_per_row: 8 };
const movie: Json<paths["/api/v1/movies/"]["post"]["requestBody"]> = {
  title: "Generated Client",
  duration_minutes: 100,
  age_rating: "PG-13",
};
const show: Schemas["ShowtimeRequest"] = {
  movie: 1,
  screen: 1,
  starts_at: "2026-12-01T19:00:00+01:00",
  base_price: "12.50",
  currency: "usd",
};
const report: operations["reports_showtimes_list"]["parameters"]["query"] = {
  from: "2026-12-01T00:00:00+01:00",
  to: "2026-12-02T00:00:00+01:00",
};

// --- customer: token, shows of a day, seat map, hold, pay, read, cancel ---------------------------
const credentials: Schemas["CredentialsRequest"] = { username: "alice", password: "s3cret-Pass" };
const day: operations["showtimes_list"]["parameters"]["query"] = { date: "2026-12-01" };
const seatMapPath: operations["showtimes_seats_retrieve"]["parameters"]["path"] = {
  showtime_id: 1,
};
const hold: Schemas["HoldRequest"] = { showtime: 1, seats: [1, 2] };
const payPath: operations["bookings_pay_create"]["parameters"]["path"] = { id: 1 };
const cancelPath: operations["bookings_cancel_create"]["parameters"]["path"] = { id: 1 };
// The cancel's body is optional (the whole booking); with `seats`, only those seats.
const cancelSome: NonNullable<operations["bookings_cancel_create"]["requestBody"]>["content"]["application/json"] =
  { seats: [2] };
const cancelAll: Schemas["CancelRequest"] = {};

type CancelConflictCode =
  Json<operations["bookings_cancel_create"]["responses"][409]>["errors"][number]["code"];
const cancelHandled: CancelConflictCode[] = [
  "checked_in",
  "cancellation_closed",
  "payment_open",
  "exchange_pending",
];

const exchangeTo: Schemas["ExchangeRequest"] = { showtime: 2, seats: [7, 8] };
type ExchangeConflictCode =
  Json<operations["bookings_exchange_create"]["responses"][409]>["errors"][number]["code"];
const exchangeHandled: ExchangeConflictCode[] = [
  "not_confirmed", "currency_mismatch", "cutoff", "checked_in", "seats_taken",
];

function exchanged(answer: Json<operations["bookings_exchange_create"]["responses"][201]>): string {
  // The new booking: where it came from, what it brought, what is left to pay.
  return `${answer.exchange_of ?? "-"}:${answer.credit}:${answer.amount_due}`;
}

function seatsKept(booking: Schemas["Booking"]): number[] {
  // A cancelled seat carries when it was cancelled; the others null.
  return booking.seats.filter((s) => s.cancelled_at === null).map((s) => s.id);
}

function firstAvailable(map: Schemas["SeatMap"]): number[] {
  return map.seats.filter((s) => s.status === "available").map((s) => s.id);
}

function clientSecret(booking: Schemas["Booking"]): string | null {
  // `payment` is an object or null, never missing.
  return booking.payment === null ? null : booking.payment.client_secret;
}

function payStep(answer: Json<operations["bookings_pay_create"]["responses"][200]>): string {
  return `${answer.provider}:${answer.publishable_key}`;
}

type HoldConflictCode =
  Json<operations["bookings_create"]["responses"][409]>["errors"][number]["code"];
// The codes a client handles are in the enum (the list may grow; these must stay).
const handled: HoldConflictCode[] = ["seats_unavailable", "hold_limit", "idempotency_in_flight"];

function conflictCode(answer: Json<operations["bookings_create"]["responses"][409]>): HoldConflictCode {
  return answer.errors[0].code;
}

function showTitle(page: Schemas["PaginatedShowtimeList"]): string[] {
  return page.results.map((s) => `${s.movie.title} at ${s.theater.name}, ${s.base_price} ${s.currency}`);
}

// --- waitlist: join a sold-out show, list the entries, leave -----------------------------------
const joinPath: operations["showtimes_waitlist_create"]["parameters"]["path"] = { showtime_id: 1 };
const join: Schemas["WaitlistJoinRequest"] = { quantity: 2 };
const leavePath: operations["waitlist_destroy"]["parameters"]["path"] = { id: 1 };
type WaitlistConflictCode =
  Json<operations["showtimes_waitlist_create"]["responses"][409]>["errors"][number]["code"];
const waitlistHandled: WaitlistConflictCode[] = ["seats_available", "already_waiting"];

function placeInQueue(page: Schemas["PaginatedWaitlistEntryList"]): string[] {
  // `position` is a number while waiting, null after; `offer` the held booking's id or null.
  return page.results.map(
    (e) => `${e.show.movie}: ${e.status} ${e.position ?? "-"} offer ${e.offer ?? "none"}`,
  );
}

function offerOf(booking: Schemas["Booking"]): number | null {
  return booking.waitlist_entry;
}

export const requests = {
  theater, screen, grid, movie, show, report, credentials, day, seatMapPath, hold, payPath, cancelPath,
  joinPath, join, leavePath, cancelSome, cancelAll, exchangeTo,
};
export const readers = {
  handled, cancelHandled, exchangeHandled, exchanged, firstAvailable, clientSecret, payStep,
  conflictCode, showTitle, waitlistHandled, placeInQueue, offerOf, seatsKept,
};
