/*
 * faker.c - the random-data generators behind $.fake.<Name>, and the seeded
 * generator they draw from.
 *
 * The same mock rendered by the extension, the admin node and a resolver must be
 * reproducible in tests, so nothing here reads a global source of randomness or
 * the clock: the caller passes the generator state (xoshiro256**, seeded through
 * splitmix64) and "now". Word lists are embedded, ASCII only (so every generated
 * e-mail, user name and domain is valid as-is), and written for this project.
 */
#include "mockarty/core.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------ rng */

static uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* Seeds all four words from splitmix64 so that even seed 0 gives a usable state. */
void
mc_rng_seed(mc_rng *rng, uint64_t seed)
{
	uint64_t x = seed;

	for (int i = 0; i < 4; i++) {
		uint64_t z = (x += 0x9e3779b97f4a7c15ULL);

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		rng->s[i] = z ^ (z >> 31);
	}
}

/* xoshiro256** step. */
uint64_t
mc_rng_next(mc_rng *rng)
{
	uint64_t *s = rng->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/* Uniform integer in [0, n) without modulo bias; n == 0 means the full 64 bits. */
static uint64_t
rnd_below(mc_rng *rng, uint64_t n)
{
	uint64_t x, limit;

	if (n == 0)
		return mc_rng_next(rng);
	limit = UINT64_MAX - (UINT64_MAX % n);
	do
		x = mc_rng_next(rng);
	while (x >= limit);
	return x % n;
}

/* Uniform real in [0, 1) from the top 53 bits. */
static double
rnd_unit(mc_rng *rng)
{
	return (double)(mc_rng_next(rng) >> 11) * (1.0 / 9007199254740992.0);
}

static int64_t
rnd_between(mc_rng *rng, int64_t lo, int64_t hi)
{
	uint64_t span = (uint64_t)hi - (uint64_t)lo + 1; /* 0 when the full range */

	return (int64_t)((uint64_t)lo + rnd_below(rng, span));
}

#define PICK(rng, list) ((list)[rnd_below((rng), NELEM(list))])

static double
round_to(double v, int decimals)
{
	double m = pow(10.0, decimals);

	return round(v * m) / m;
}

/* ------------------------------------------------------------ word lists */

static const char *const first_names[] = {
    "James",     "Mary",      "Robert",  "Patricia",  "John",        "Jennifer",  "Michael",   "Linda",
    "David",     "Elizabeth", "William", "Barbara",   "Richard",     "Susan",     "Joseph",    "Jessica",
    "Thomas",    "Sarah",     "Charles", "Karen",     "Christopher", "Lisa",      "Daniel",    "Nancy",
    "Matthew",   "Betty",     "Anthony", "Margaret",  "Mark",        "Sandra",    "Donald",    "Ashley",
    "Steven",    "Kimberly",  "Paul",    "Emily",     "Andrew",      "Donna",     "Joshua",    "Michelle",
    "Kenneth",   "Carol",     "Kevin",   "Amanda",    "Brian",       "Dorothy",   "George",    "Melissa",
    "Timothy",   "Deborah",   "Ronald",  "Stephanie", "Edward",      "Rebecca",   "Jason",     "Sharon",
    "Jeffrey",   "Laura",     "Ryan",    "Cynthia",   "Jacob",       "Kathleen",  "Gary",      "Amy",
    "Nicholas",  "Angela",    "Eric",    "Shirley",   "Jonathan",    "Anna",      "Stephen",   "Brenda",
    "Larry",     "Pamela",    "Justin",  "Emma",      "Scott",       "Nicole",    "Brandon",   "Helen",
    "Benjamin",  "Samantha",  "Samuel",  "Katherine", "Gregory",     "Christine", "Alexander", "Debra",
    "Frank",     "Rachel",    "Patrick", "Carolyn",   "Raymond",     "Janet",     "Jack",      "Catherine",
    "Dennis",    "Maria",     "Jerry",   "Heather",   "Tyler",       "Diane",     "Aaron",     "Olivia",
    "Jose",      "Julie",     "Adam",    "Joyce",     "Nathan",      "Victoria",  "Henry",     "Ruth",
    "Zachary",   "Virginia",  "Douglas", "Lauren",    "Peter",       "Kelly",     "Kyle",      "Christina",
    "Noah",      "Joan",      "Ethan",   "Evelyn",    "Jeremy",      "Judith",    "Walter",    "Andrea",
    "Christian", "Hannah",    "Keith",   "Megan",     "Roger",       "Cheryl",    "Terry",     "Jacqueline",
    "Austin",    "Martha",    "Sean",    "Madison",   "Gerald",      "Teresa",    "Carl",      "Gloria",
    "Harold",    "Sara",      "Dylan",   "Janice",    "Arthur",      "Ann",       "Lawrence",  "Kathryn",
    "Jordan",    "Abigail",   "Jesse",   "Sophia",    "Bryan",       "Frances",   "Billy",     "Jean",
    "Bruce",     "Alice",     "Gabriel", "Judy",      "Joe",         "Isabella",  "Logan",     "Julia",
    "Alan",      "Grace",     "Juan",    "Amber",     "Albert",      "Denise",    "Willie",    "Danielle",
    "Elijah",    "Marilyn",   "Wayne",   "Beverly",   "Randy",       "Charlotte", "Vincent",   "Natalie",
    "Mason",     "Theresa",   "Roy",     "Diana",     "Ralph",       "Brittany",  "Bobby",     "Doris",
    "Russell",   "Kayla",     "Bradley", "Alexis",    "Philip",      "Lori",      "Eugene",    "Marie",
    "Ivan",      "Olga",      "Dmitri",  "Anastasia", "Luca",        "Giulia",    "Hiroshi",   "Yuki",
    "Mateo",     "Lucia",     "Lars",    "Ingrid",    "Omar",        "Leila",     "Arjun",     "Priya",
    "Chen",      "Mei"};

static const char *const last_names[] = {
    "Smith",     "Johnson",  "Williams",  "Brown",    "Jones",    "Garcia",   "Miller",   "Davis",
    "Rodriguez", "Martinez", "Hernandez", "Lopez",    "Gonzalez", "Wilson",   "Anderson", "Thomas",
    "Taylor",    "Moore",    "Jackson",   "Martin",   "Lee",      "Perez",    "Thompson", "White",
    "Harris",    "Sanchez",  "Clark",     "Ramirez",  "Lewis",    "Robinson", "Walker",   "Young",
    "Allen",     "King",     "Wright",    "Scott",    "Torres",   "Nguyen",   "Hill",     "Flores",
    "Green",     "Adams",    "Nelson",    "Baker",    "Hall",     "Rivera",   "Campbell", "Mitchell",
    "Carter",    "Roberts",  "Gomez",     "Phillips", "Evans",    "Turner",   "Diaz",     "Parker",
    "Cruz",      "Edwards",  "Collins",   "Reyes",    "Stewart",  "Morris",   "Morales",  "Murphy",
    "Cook",      "Rogers",   "Gutierrez", "Ortiz",    "Morgan",   "Cooper",   "Peterson", "Bailey",
    "Reed",      "Kelly",    "Howard",    "Ramos",    "Kim",      "Cox",      "Ward",     "Richardson",
    "Watson",    "Brooks",   "Chavez",    "Wood",     "James",    "Bennett",  "Gray",     "Mendoza",
    "Ruiz",      "Hughes",   "Price",     "Alvarez",  "Castillo", "Sanders",  "Patel",    "Myers",
    "Long",      "Ross",     "Foster",    "Jimenez",  "Ivanov",   "Petrova",  "Rossi",    "Bianchi",
    "Tanaka",    "Suzuki",   "Schmidt",   "Fischer",  "Larsen",   "Novak",    "Kowalski", "Dubois",
    "Moreau",    "Silva",    "Santos",    "Haddad",   "Sharma",   "Wang",     "Li"};

static const char *const email_domains[] = {"gmail.com",   "yahoo.com",      "outlook.com",   "hotmail.com",
                                            "icloud.com",  "protonmail.com", "mail.com",      "fastmail.com",
                                            "example.com", "example.org",    "acme-corp.com", "northwind.io"};

static const char *const tlds[] = {"com", "net", "org", "io", "co", "dev", "info", "biz", "app"};

static const char *const words[] = {
    "alpha",   "anchor",  "apple",   "arrow",    "autumn",  "balance", "basket",  "beacon",  "bridge",
    "bright",  "button",  "canvas",  "carbon",   "castle",  "cedar",   "circle",  "cloud",   "copper",
    "coral",   "cotton",  "crystal", "dawn",     "delta",   "desert",  "echo",    "ember",   "engine",
    "falcon",  "feather", "field",   "forest",   "fossil",  "garden",  "glacier", "granite", "harbor",
    "horizon", "island",  "jacket",  "journey",  "kernel",  "lantern", "lemon",   "letter",  "meadow",
    "metal",   "mirror",  "morning", "mountain", "native",  "needle",  "night",   "ocean",   "orbit",
    "paper",   "pepper",  "pillow",  "planet",   "pocket",  "prairie", "quartz",  "quiet",   "rabbit",
    "river",   "rocket",  "saddle",  "signal",   "silver",  "simple",  "spring",  "square",  "stone",
    "summer",  "table",   "thunder", "timber",   "travel",  "tunnel",  "velvet",  "violet",  "voyage",
    "wander",  "window",  "winter",  "wonder",   "yellow",  "zephyr",  "market",  "number",  "system",
    "people",  "history", "world",   "water",    "family",  "story",   "problem", "service", "example",
    "answer",  "moment",  "reason",  "method",   "network", "picture", "village", "weather", "friend"};

static const char *const cities[] = {
    "New York",    "Los Angeles",  "Chicago",   "Houston",   "Phoenix",     "Philadelphia",
    "San Antonio", "San Diego",    "Dallas",    "Austin",    "Seattle",     "Denver",
    "Boston",      "Portland",     "Atlanta",   "Miami",     "Minneapolis", "Nashville",
    "London",      "Manchester",   "Paris",     "Lyon",      "Berlin",      "Munich",
    "Hamburg",     "Madrid",       "Barcelona", "Rome",      "Milan",       "Amsterdam",
    "Vienna",      "Prague",       "Warsaw",    "Stockholm", "Oslo",        "Copenhagen",
    "Helsinki",    "Dublin",       "Lisbon",    "Athens",    "Moscow",      "Saint Petersburg",
    "Tokyo",       "Osaka",        "Seoul",     "Beijing",   "Shanghai",    "Singapore",
    "Sydney",      "Melbourne",    "Toronto",   "Vancouver", "Montreal",    "Mexico City",
    "Sao Paulo",   "Buenos Aires", "Cape Town", "Cairo",     "Istanbul",    "Dubai",
    "Mumbai",      "Bangalore"};

static const struct {
	const char *code, *name;
} countries[] = {{"US", "United States"}, {"CA", "Canada"},
                 {"MX", "Mexico"},        {"BR", "Brazil"},
                 {"AR", "Argentina"},     {"GB", "United Kingdom"},
                 {"IE", "Ireland"},       {"FR", "France"},
                 {"DE", "Germany"},       {"ES", "Spain"},
                 {"PT", "Portugal"},      {"IT", "Italy"},
                 {"NL", "Netherlands"},   {"BE", "Belgium"},
                 {"CH", "Switzerland"},   {"AT", "Austria"},
                 {"SE", "Sweden"},        {"NO", "Norway"},
                 {"DK", "Denmark"},       {"FI", "Finland"},
                 {"PL", "Poland"},        {"CZ", "Czechia"},
                 {"GR", "Greece"},        {"TR", "Turkey"},
                 {"RU", "Russia"},        {"UA", "Ukraine"},
                 {"EG", "Egypt"},         {"ZA", "South Africa"},
                 {"NG", "Nigeria"},       {"KE", "Kenya"},
                 {"IN", "India"},         {"CN", "China"},
                 {"JP", "Japan"},         {"KR", "South Korea"},
                 {"SG", "Singapore"},     {"AU", "Australia"},
                 {"NZ", "New Zealand"},   {"AE", "United Arab Emirates"},
                 {"IL", "Israel"},        {"TH", "Thailand"}};

static const char *const us_states[] = {
    "Alabama",     "Alaska",       "Arizona",        "Arkansas",       "California",    "Colorado",
    "Connecticut", "Delaware",     "Florida",        "Georgia",        "Hawaii",        "Idaho",
    "Illinois",    "Indiana",      "Iowa",           "Kansas",         "Kentucky",      "Louisiana",
    "Maine",       "Maryland",     "Massachusetts",  "Michigan",       "Minnesota",     "Mississippi",
    "Missouri",    "Montana",      "Nebraska",       "Nevada",         "New Hampshire", "New Jersey",
    "New Mexico",  "New York",     "North Carolina", "North Dakota",   "Ohio",          "Oklahoma",
    "Oregon",      "Pennsylvania", "Rhode Island",   "South Carolina", "South Dakota",  "Tennessee",
    "Texas",       "Utah",         "Vermont",        "Virginia",       "Washington",    "West Virginia",
    "Wisconsin",   "Wyoming"};

static const char *const us_state_abbr[] = {
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS", "KY",
    "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND",
    "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY"};

static const char *const street_names[] = {
    "Oak",    "Maple",  "Cedar",   "Pine",      "Elm",      "Washington", "Lake",     "Hill",   "Park",
    "Main",   "Sunset", "River",   "Highland",  "Church",   "Spring",     "Willow",   "Meadow", "Ridge",
    "Forest", "Valley", "Lincoln", "Jefferson", "Franklin", "Madison",    "Chestnut", "Walnut", "Birch"};

static const char *const street_suffixes[] = {"Street", "Avenue", "Road",  "Boulevard", "Lane",
                                              "Drive",  "Court",  "Place", "Way",       "Terrace"};

static const char *const company_suffixes[] = {"Inc",      "LLC",      "Group", "Corp",    "Ltd",
                                               "Partners", "Holdings", "Labs",  "Systems", "Solutions"};

static const char *const company_words[] = {"Blue",     "Summit",   "Bright",  "Silver",  "Pioneer",
                                            "Vertex",   "Northern", "Quantum", "Apex",    "Evergreen",
                                            "Harbor",   "Granite",  "Nimbus",  "Orchid",  "Sterling",
                                            "Crescent", "Atlas",    "Beacon",  "Cascade", "Meridian"};

static const char *const company_nouns[] = {"Dynamics", "Logistics", "Networks", "Analytics", "Software",
                                            "Foods",    "Energy",    "Media",    "Health",    "Robotics",
                                            "Capital",  "Motors",    "Textiles", "Pharma",    "Studios"};

static const char *const job_levels[] = {"Senior",    "Junior", "Lead",    "Principal", "Chief",
                                         "Associate", "Staff",  "Head of", "Regional",  "Global"};

static const char *const job_fields[] = {
    "Software", "Marketing",        "Sales",  "Product", "Data",           "Security", "Operations",
    "Finance",  "Customer Success", "Design", "Quality", "Infrastructure", "Research", "Legal",
    "People"};

static const char *const job_roles[] = {"Engineer",      "Manager",   "Analyst",     "Specialist",
                                        "Consultant",    "Architect", "Coordinator", "Director",
                                        "Administrator", "Designer",  "Officer",     "Strategist"};

static const char *const product_adjs[] = {"Ergonomic", "Rustic",      "Sleek",    "Smart",    "Compact",
                                           "Durable",   "Handcrafted", "Portable", "Wireless", "Premium",
                                           "Classic",   "Lightweight", "Refined",  "Modern",   "Vintage"};

static const char *const product_materials[] = {"Steel",   "Wooden", "Cotton",  "Leather",
                                                "Ceramic", "Bamboo", "Granite", "Plastic",
                                                "Wool",    "Carbon", "Glass",   "Copper"};

static const char *const product_nouns[] = {
    "Chair",  "Table",  "Lamp",    "Keyboard", "Backpack", "Watch",   "Bottle", "Headphones", "Mug",
    "Wallet", "Jacket", "Speaker", "Notebook", "Blender",  "Bicycle", "Shoes",  "Sunglasses"};

static const char *const url_paths[] = {"products", "blog", "about",   "docs",    "api",
                                        "news",     "shop", "account", "support", "pricing"};

static const char *const genders[] = {"male", "female"};

/* ---------------------------------------------------------- output helpers */

/* Bounded string builder; every faker output fits in a small fixed buffer. */
typedef struct sbuf {
	char b[1024];
	size_t n;
} sbuf;

static void sb_putf(sbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
sb_putf(sbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (sb->n >= sizeof(sb->b) - 1)
		return;
	va_start(ap, fmt);
	w = vsnprintf(sb->b + sb->n, sizeof(sb->b) - sb->n, fmt, ap);
	va_end(ap);
	if (w > 0)
		sb->n += (size_t)w < sizeof(sb->b) - sb->n ? (size_t)w : sizeof(sb->b) - sb->n - 1;
}

static void
sb_lower(sbuf *sb, const char *s)
{
	for (; *s && sb->n < sizeof(sb->b) - 1; s++)
		if (isalnum((unsigned char)*s))
			sb->b[sb->n++] = (char)tolower((unsigned char)*s);
	sb->b[sb->n] = '\0';
}

static json_t *
sb_json(sbuf *sb)
{
	return json_stringn(sb->b, sb->n);
}

static const char hexdig[] = "0123456789abcdef";

static void
sb_hex(sbuf *sb, mc_rng *rng, int count)
{
	for (int i = 0; i < count && sb->n < sizeof(sb->b) - 1; i++)
		sb->b[sb->n++] = hexdig[rnd_below(rng, 16)];
	sb->b[sb->n] = '\0';
}

static void
sb_digits(sbuf *sb, mc_rng *rng, int count)
{
	for (int i = 0; i < count && sb->n < sizeof(sb->b) - 1; i++)
		sb->b[sb->n++] = (char)('0' + rnd_below(rng, 10));
	sb->b[sb->n] = '\0';
}

static void
sb_time(sbuf *sb, int64_t t, const char *fmt)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL)
		return;
	sb->n += strftime(sb->b + sb->n, sizeof(sb->b) - sb->n, fmt, &tm);
}

/* base64url without padding, as JWT segments use. */
static void
sb_b64url(sbuf *sb, const unsigned char *p, size_t len)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		size_t rem = len - i;

		if (rem > 1)
			v |= (uint32_t)p[i + 1] << 8;
		if (rem > 2)
			v |= p[i + 2];
		sb_putf(sb, "%c%c", al[(v >> 18) & 63], al[(v >> 12) & 63]);
		if (rem > 1)
			sb_putf(sb, "%c", al[(v >> 6) & 63]);
		if (rem > 2)
			sb_putf(sb, "%c", al[v & 63]);
	}
}

/* A date-time within one year either side of now. */
static int64_t
near_now(mc_rng *rng, int64_t now)
{
	return now + rnd_between(rng, -365LL * 86400, 365LL * 86400);
}

/* ------------------------------------------------------------- generators */

typedef struct fake_args {
	int n;
	int64_t i[2];
	double d[2];
} fake_args;

typedef json_t *(*fake_fn)(mc_rng *rng, int64_t now, const fake_args *a);

static void
put_uuid(sbuf *sb, mc_rng *rng)
{
	sb_hex(sb, rng, 8);
	sb_putf(sb, "-");
	sb_hex(sb, rng, 4);
	sb_putf(sb, "-4");
	sb_hex(sb, rng, 3);
	sb_putf(sb, "-%c", "89ab"[rnd_below(rng, 4)]);
	sb_hex(sb, rng, 3);
	sb_putf(sb, "-");
	sb_hex(sb, rng, 12);
}

static json_t *
f_uuid(mc_rng *rng, int64_t now, const fake_args *a)
{
	sbuf sb = {.n = 0};

	(void)now, (void)a;
	put_uuid(&sb, rng);
	return sb_json(&sb);
}

/* 32 decimal digits (the length of a UUID without dashes), no leading zero. */
static json_t *
f_uuid_digit(mc_rng *rng, int64_t now, const fake_args *a)
{
	sbuf sb = {.n = 0};

	(void)now, (void)a;
	sb_putf(&sb, "%c", (char)('1' + rnd_below(rng, 9)));
	sb_digits(&sb, rng, 31);
	return sb_json(&sb);
}

static json_t *
f_int_between(mc_rng *rng, int64_t now, const fake_args *a)
{
	(void)now;
	return json_integer(rnd_between(rng, a->i[0], a->i[1]));
}

static json_t *
f_float_range(mc_rng *rng, int64_t now, const fake_args *a)
{
	double v = a->d[0] + rnd_unit(rng) * (a->d[1] - a->d[0]);

	(void)now;
	if (!isfinite(v)) /* a span too wide for a double */
		v = a->d[0];
	v = round_to(v, 2);
	if (!isfinite(v))
		v = a->d[0];
	if (v > a->d[1])
		v = a->d[1];
	if (v < a->d[0])
		v = a->d[0];
	return json_real(v);
}

static json_t *
f_date_iso(mc_rng *rng, int64_t now, const fake_args *a)
{
	sbuf sb = {.n = 0};

	(void)a;
	sb_time(&sb, near_now(rng, now), "%Y-%m-%dT%H:%M:%SZ");
	return sb_json(&sb);
}

static json_t *
f_date(mc_rng *rng, int64_t now, const fake_args *a)
{
	sbuf sb = {.n = 0};

	(void)a;
	sb_time(&sb, near_now(rng, now), "%Y-%m-%d");
	return sb_json(&sb);
}

/* Some moment in the last 30 days, as Unix seconds. */
static json_t *
f_timestamp(mc_rng *rng, int64_t now, const fake_args *a)
{
	(void)a;
	return json_integer(now - rnd_between(rng, 0, 30LL * 86400));
}

static json_t *
f_first_name(mc_rng *rng, int64_t now, const fake_args *a)
{
	(void)now, (void)a;
	return json_string(PICK(rng, first_names));
}

static json_t *
f_last_name(mc_rng *rng, int64_t now, const fake_args *a)
{
	(void)now, (void)a;
	return json_string(PICK(rng, last_names));
}

static json_t *
f_name(mc_rng *rng, int64_t now, const fake_args *a)
{
	sbuf sb = {.n = 0};

	(void)now, (void)a;
	sb_putf(&sb, "%s", PICK(rng, first_names));
	sb_putf(&sb, " %s", PICK(rng, last_names));
	return sb_json(&sb);
}

/* first.last@domain, firstlast42@domain or f.last@domain, all lower case. */
static json_t *
f_email(mc_rng *rng, int64_t now, const fake_args *a)
{
	sbuf sb = {.n = 0};
	const char *fn = PICK(rng, first_names), *ln = PICK(rng, last_names);

	(void)now, (void)a;
	switch (rnd_below(rng, 3)) {
	case 0:
		sb_lower(&sb, fn);
		sb_putf(&sb, ".");
		sb_lower(&sb, ln);
		break;
	case 1:
		sb_lower(&sb, fn);
		sb_lower(&sb, ln);
		sb_putf(&sb, "%d", (int)rnd_between(rng, 1, 99));
		break;
	default:
		sb_putf(&sb, "%c.", (char)tolower((unsigned char)fn[0]));
		sb_lower(&sb, ln);
		break;
	}
	sb_putf(&sb, "@%s", PICK(rng, email_domains));
	return sb_json(&sb);
}

static json_t *
f_username(mc_rng *rng, int64_t now, const fake_args *a)
{
	sbuf sb = {.n = 0};
	const char *fn = PICK(rng, first_names), *ln = PICK(rng, last_names);

	(void)now, (void)a;
	if (rnd_below(rng, 2) == 0) {
		sb_putf(&sb, "%c", (char)tolower((unsigned char)fn[0]));
		sb_lower(&sb, ln);
	} else {
		sb_lower(&sb, fn);
		sb_putf(&sb, "_");
		sb_lower(&sb, ln);
	}
	sb_putf(&sb, "%d", (int)rnd_between(rng, 1, 999));
	return sb_json(&sb);
}

/* 14 characters with at least one lower, upper, digit and symbol. */
static json_t *
f_password(mc_rng *rng, int64_t now, const fake_args *a)
{
	static const char *const cls[] = {"abcdefghijkmnopqrstuvwxyz", "ABCDEFGHJKLMNPQRSTUVWXYZ", "23456789",
	                                  "!@#$%^&*-_+=?"};
	char pw[15];
	int len = 14;

	(void)now, (void)a;
	for (int i = 0; i < len; i++) {
		const char *c = cls[i < 4 ? i : (int)rnd_below(rng, 4)];

		pw[i] = c[rnd_below(rng, strlen(c))];
	}
	for (int i = len - 1; i > 0; i--) { /* shuffle so the classes are not in front */
		int j = (int)rnd_below(rng, (uint64_t)i + 1);
		char t = pw[i];

		pw[i] = pw[j];
		pw[j] = t;
	}
	pw[len] = '\0';
	return json_string(pw);
}

static json_t *
f_word(mc_rng *rng, int64_t now, const fake_args *a)
{
	(void)now, (void)a;
	return json_string(PICK(rng, words));
}

static void
put_sentence(sbuf *sb, mc_rng *rng)
{
	int n = (int)rnd_between(rng, 5, 12);

	for (int i = 0; i < n; i++) {
		const char *w = PICK(rng, words);

		if (i == 0)
			sb_putf(sb, "%c%s", (char)toupper((unsigned char)w[0]), w + 1);
		else
			sb_putf(sb, " %s", w);
	}
	sb_putf(sb, ".");
}

static json_t *
f_sentence(mc_rng *rng, int64_t now, const fake_args *a)
{
	sbuf sb = {.n = 0};

	(void)now, (void)a;
	put_sentence(&sb, rng);
	return sb_json(&sb);
}

static json_t *
f_paragraph(mc_rng *rng, int64_t now, const fake_args *a)
{
	sbuf sb = {.n = 0};
	int n = (int)rnd_between(rng, 3, 6);

	(void)now, (void)a;
	for (int i = 0; i < n; i++) {
		if (i > 0)
			sb_putf(&sb, " ");
		put_sentence(&sb, rng);
	}
	return sb_json(&sb);
}

static json_t *
f_city(mc_rng *rng, int64_t now, const fake_args *a)
{
	(void)now, (void)a;
	return json_string(PICK(rng, cities));
}

static json_t *
f_country(mc_rng *rng, int64_t now, const fake_args *a)
{
	(void)now, (void)a;
	return json_string(countries[rnd_below(rng, NELEM(countries))].name);
}

static json_t *
f_country_code(mc_rng *rng, int64_t now, const fake_args *a)
{
	(void)now, (void)a;
	return json_string(countries[rnd_below(rng, NELEM(countries))].code);
}

static json_t *
f_state(mc_rng *rng, int64_t now, const fake_args *a)
{
	(void)now, (void)a;
	return json_string(PICK(rng, us_states));
}

static void
put_street(sbuf *sb, mc_rng *rng)
{
	sb_putf(sb, "%d %s", (int)rnd_between(rng, 1, 9999), PICK(rng, street_names));
	sb_putf(sb, " %s", PICK(rng, street_suffixes));
}

static json_t *
f_street_address(mc_rng *rng, int64_t now, const fake_args *a)
{
	sbuf sb = {.n = 0};

	(void)now, (void)a;
	put_street(&sb, rng);
	return sb_json(&sb);
}

/* "742 Maple Avenue, Denver, CO 80203" */
static json_t *
f_address(mc_rng *rng, int64_t now, const fake_args *a)
{
	sbuf sb = {.n = 0};

	(void)now, (void)a;
	put_street(&sb, rng);
	sb_putf(&sb, ", %s", PICK(rng, cities));
	sb_putf(&sb, ", %s ", PICK(rng, us_state_abbr));
	sb_digits(&sb, rng, 5);
	return sb_json(&sb);
}

static json_t *
f_zip(mc_rng *rng, int64_t now, const fake_args *a)
{
	sbuf sb = {.n = 0};

	(void)now, (void)a;
	sb_putf(&sb, "%c", (char)('1' + rnd_below(rng, 9)));
	sb_digits(&sb, rng, 4);
	return sb_json(&sb);
}

/* North American form "+1-415-555-0134": area and exchange codes never start with 0/1. */
static json_t *
f_phone(mc_rng *rng, int64_t now, const fake_args *a)
{
	sbuf sb = {.n = 0};

	(void)now, (void)a;
	sb_putf(&sb, "+1-%d", (int)rnd_between(rng, 2, 9));
	sb_digits(&sb, rng, 2);
	sb_putf(&sb, "-%d", (int)rnd_between(rng, 2, 9));
	sb_digits(&sb, rng, 2);
	sb_putf(&sb, "-");
	sb_digits(&sb, rng, 4);
	return sb_json(&sb);
}

static json_t *
f_company(mc_rng *rng, int64_t now, const fake_args *a)
{
	sbuf sb = {.n = 0};

	(void)now, (void)a;
	if (rnd_below(rng, 2) == 0)
		sb_putf(&sb, "%s", PICK(rng, last_names));
	else
		sb_putf(&sb, "%s", PICK(rng, company_words));
	sb_putf(&sb, " %s", PICK(rng, company_nouns));
	sb_putf(&sb, " %s", PICK(rng, company_suffixes));
	return sb_json(&sb);
}

static json_t *
f_job_title(mc_rng *rng, int64_t now, const fake_args *a)
{
	sbuf sb = {.n = 0};

	(void)now, (void)a;
	sb_putf(&sb, "%s", PICK(rng, job_levels));
	sb_putf(&sb, " %s", PICK(rng, job_fields));
	sb_putf(&sb, " %s", PICK(rng, job_roles));
	return sb_json(&sb);
}

static json_t *
f_product_name(mc_rng *rng, int64_t now, const fake_args *a)
{
	sbuf sb = {.n = 0};

	(void)now, (void)a;
	sb_putf(&sb, "%s", PICK(rng, product_adjs));
	sb_putf(&sb, " %s", PICK(rng, product_materials));
	sb_putf(&sb, " %s", PICK(rng, product_nouns));
	return sb_json(&sb);
}

/* 1.00 .. 999.99 */
static json_t *
f_price(mc_rng *rng, int64_t now, const fake_args *a)
{
	(void)now, (void)a;
	return json_real((double)rnd_between(rng, 100, 99999) / 100.0);
}

/* 0 .. 10000 with 4 decimals. */
static json_t *
f_float64(mc_rng *rng, int64_t now, const fake_args *a)
{
	(void)now, (void)a;
	return json_real(round_to(rnd_unit(rng) * 10000.0, 4));
}

static json_t *
f_bool(mc_rng *rng, int64_t now, const fake_args *a)
{
	(void)now, (void)a;
	return json_boolean(rnd_below(rng, 2));
}

static json_t *
f_positive_int(mc_rng *rng, int64_t now, const fake_args *a)
{
	(void)now, (void)a;
	return json_integer(rnd_between(rng, 1, 1000000));
}

static void
put_domain(sbuf *sb, mc_rng *rng)
{
	if (rnd_below(rng, 2) == 0)
		sb_lower(sb, PICK(rng, last_names));
	else {
		sb_lower(sb, PICK(rng, company_words));
		sb_putf(sb, "-");
		sb_lower(sb, PICK(rng, words));
	}
	sb_putf(sb, ".%s", PICK(rng, tlds));
}

static json_t *
f_domain(mc_rng *rng, int64_t now, const fake_args *a)
{
	sbuf sb = {.n = 0};

	(void)now, (void)a;
	put_domain(&sb, rng);
	return sb_json(&sb);
}

static json_t *
f_url(mc_rng *rng, int64_t now, const fake_args *a)
{
	sbuf sb = {.n = 0};

	(void)now, (void)a;
	sb_putf(&sb, "https://www.");
	put_domain(&sb, rng);
	sb_putf(&sb, "/%s", PICK(rng, url_paths));
	sb_putf(&sb, "/%s", PICK(rng, words));
	return sb_json(&sb);
}

/* Unicast, non-loopback first octet. */
static json_t *
f_ipv4(mc_rng *rng, int64_t now, const fake_args *a)
{
	sbuf sb = {.n = 0};
	int first;

	(void)now, (void)a;
	do
		first = (int)rnd_between(rng, 1, 223);
	while (first == 127);
	sb_putf(&sb, "%d.%d.%d.%d", first, (int)rnd_below(rng, 256), (int)rnd_below(rng, 256),
	        (int)rnd_between(rng, 1, 254));
	return sb_json(&sb);
}

static json_t *
f_mac(mc_rng *rng, int64_t now, const fake_args *a)
{
	sbuf sb = {.n = 0};

	(void)now, (void)a;
	for (int i = 0; i < 6; i++) {
		if (i > 0)
			sb_putf(&sb, ":");
		sb_hex(&sb, rng, 2);
	}
	return sb_json(&sb);
}

static json_t *
f_hex_color(mc_rng *rng, int64_t now, const fake_args *a)
{
	sbuf sb = {.n = 0};

	(void)now, (void)a;
	sb_putf(&sb, "#");
	sb_hex(&sb, rng, 6);
	return sb_json(&sb);
}

static json_t *
f_gender(mc_rng *rng, int64_t now, const fake_args *a)
{
	(void)now, (void)a;
	return json_string(PICK(rng, genders));
}

static json_t *
f_user_agent(mc_rng *rng, int64_t now, const fake_args *a)
{
	sbuf sb = {.n = 0};
	int major = (int)rnd_between(rng, 110, 131);

	(void)now, (void)a;
	switch (rnd_below(rng, 4)) {
	case 0:
		sb_putf(&sb,
		        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
		        "Gecko) Chrome/%d.0.%d.%d Safari/537.36",
		        major, (int)rnd_between(rng, 5000, 6999), (int)rnd_between(rng, 10, 200));
		break;
	case 1:
		sb_putf(&sb,
		        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_%d) AppleWebKit/605.1.15 "
		        "(KHTML, like Gecko) Version/%d.%d Safari/605.1.15",
		        (int)rnd_between(rng, 1, 7), (int)rnd_between(rng, 15, 17),
		        (int)rnd_between(rng, 0, 6));
		break;
	case 2:
		sb_putf(&sb, "Mozilla/5.0 (X11; Linux x86_64; rv:%d.0) Gecko/20100101 Firefox/%d.0", major,
		        major);
		break;
	default:
		sb_putf(&sb,
		        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_%d like Mac OS X) AppleWebKit/605.1.15 "
		        "(KHTML, like Gecko) Version/17.%d Mobile/15E148 Safari/604.1",
		        (int)rnd_between(rng, 0, 6), (int)rnd_between(rng, 0, 6));
		break;
	}
	return sb_json(&sb);
}

static json_t *
f_latitude(mc_rng *rng, int64_t now, const fake_args *a)
{
	(void)now, (void)a;
	return json_real(round_to(-90.0 + rnd_unit(rng) * 180.0, 6));
}

static json_t *
f_longitude(mc_rng *rng, int64_t now, const fake_args *a)
{
	(void)now, (void)a;
	return json_real(round_to(-180.0 + rnd_unit(rng) * 360.0, 6));
}

/* 16 digits with a Visa (4) or Mastercard (51-55) prefix and a Luhn check digit. */
static json_t *
f_credit_card(mc_rng *rng, int64_t now, const fake_args *a)
{
	char d[17];
	int n = 0, sum = 0;

	(void)now, (void)a;
	if (rnd_below(rng, 2) == 0)
		d[n++] = '4';
	else {
		d[n++] = '5';
		d[n++] = (char)('1' + rnd_below(rng, 5));
	}
	while (n < 15)
		d[n++] = (char)('0' + rnd_below(rng, 10));
	/* Luhn: double every second digit counted from the check digit (position 16). */
	for (int i = 0; i < 15; i++) {
		int v = d[14 - i] - '0';

		if (i % 2 == 0) {
			v *= 2;
			if (v > 9)
				v -= 9;
		}
		sum += v;
	}
	d[15] = (char)('0' + (10 - sum % 10) % 10);
	d[16] = '\0';
	return json_string(d);
}

/* header.payload.signature; header and payload are JSON, the signature random bytes. */
static json_t *
f_jwt(mc_rng *rng, int64_t now, const fake_args *a)
{
	static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	sbuf sb = {.n = 0}, pl = {.n = 0}, id = {.n = 0};
	unsigned char sig[32];

	(void)a;
	put_uuid(&id, rng);
	sb_putf(&pl, "{\"sub\":\"%s\",\"name\":\"%s", id.b, PICK(rng, first_names));
	sb_putf(&pl, " %s\",\"iat\":%lld,\"exp\":%lld}", PICK(rng, last_names), (long long)now,
	        (long long)(now + 3600));
	for (size_t i = 0; i < sizeof(sig); i++)
		sig[i] = (unsigned char)rnd_below(rng, 256);
	sb_b64url(&sb, (const unsigned char *)header, sizeof(header) - 1);
	sb_putf(&sb, ".");
	sb_b64url(&sb, (const unsigned char *)pl.b, pl.n);
	sb_putf(&sb, ".");
	sb_b64url(&sb, sig, sizeof(sig));
	return sb_json(&sb);
}

/* --------------------------------------------------------------- catalogue */

enum argkind { ARGS_NONE, ARGS_INT2, ARGS_REAL2 };

static const struct faker {
	const char *name;
	fake_fn fn;
	enum argkind args;
} fakers[] = {
    {"UUID", f_uuid, ARGS_NONE},
    {"UUIDDigit", f_uuid_digit, ARGS_NONE},
    {"IntBetween", f_int_between, ARGS_INT2},
    {"IntRange", f_int_between, ARGS_INT2},
    {"FloatRange", f_float_range, ARGS_REAL2},
    {"DateISO", f_date_iso, ARGS_NONE},
    {"Date", f_date, ARGS_NONE},
    {"Timestamp", f_timestamp, ARGS_NONE},
    {"UnixTime", f_timestamp, ARGS_NONE},
    {"FirstName", f_first_name, ARGS_NONE},
    {"LastName", f_last_name, ARGS_NONE},
    {"Name", f_name, ARGS_NONE},
    {"FullName", f_name, ARGS_NONE},
    {"Email", f_email, ARGS_NONE},
    {"Username", f_username, ARGS_NONE},
    {"Password", f_password, ARGS_NONE},
    {"Word", f_word, ARGS_NONE},
    {"Sentence", f_sentence, ARGS_NONE},
    {"Paragraph", f_paragraph, ARGS_NONE},
    {"City", f_city, ARGS_NONE},
    {"Country", f_country, ARGS_NONE},
    {"CountryCode", f_country_code, ARGS_NONE},
    {"State", f_state, ARGS_NONE},
    {"StreetAddress", f_street_address, ARGS_NONE},
    {"Address", f_address, ARGS_NONE},
    {"ZipCode", f_zip, ARGS_NONE},
    {"Zip", f_zip, ARGS_NONE},
    {"PhoneNumber", f_phone, ARGS_NONE},
    {"Phone", f_phone, ARGS_NONE},
    {"Company", f_company, ARGS_NONE},
    {"CompanyName", f_company, ARGS_NONE},
    {"JobTitle", f_job_title, ARGS_NONE},
    {"ProductName", f_product_name, ARGS_NONE},
    {"Price", f_price, ARGS_NONE},
    {"Amount", f_price, ARGS_NONE},
    {"Float64", f_float64, ARGS_NONE},
    {"Bool", f_bool, ARGS_NONE},
    {"PositiveInt", f_positive_int, ARGS_NONE},
    {"URL", f_url, ARGS_NONE},
    {"DomainName", f_domain, ARGS_NONE},
    {"IPv4", f_ipv4, ARGS_NONE},
    {"MacAddress", f_mac, ARGS_NONE},
    {"HexColor", f_hex_color, ARGS_NONE},
    {"Gender", f_gender, ARGS_NONE},
    {"UserAgent", f_user_agent, ARGS_NONE},
    {"Latitude", f_latitude, ARGS_NONE},
    {"Longitude", f_longitude, ARGS_NONE},
    {"CreditCardNumber", f_credit_card, ARGS_NONE},
    {"JWT", f_jwt, ARGS_NONE},
};

/* Linear, but the first byte settles almost every comparison: template checks call this once per $.fake. */
static const struct faker *
find_faker(const char *name)
{
	for (size_t i = 0; i < NELEM(fakers); i++)
		if (fakers[i].name[0] == name[0] && strcmp(fakers[i].name, name) == 0)
			return &fakers[i];
	return NULL;
}

bool
mc_faker_exists(const char *name)
{
	return name != NULL && find_faker(name) != NULL;
}

/* Index i of the comma-separated list, trimmed, into buf; false when absent. */
static bool
arg_text(const char *args, int i, char *buf, size_t bufsz, int *count)
{
	const char *p = args;
	int k = 0;
	bool found = false;

	for (;;) {
		const char *e = strchr(p, ',');
		const char *end = e ? e : p + strlen(p);
		const char *b = p;

		while (b < end && isspace((unsigned char)*b))
			b++;
		while (end > b && isspace((unsigned char)end[-1]))
			end--;
		if (k == i) {
			size_t n = (size_t)(end - b);

			if (n >= bufsz)
				n = bufsz - 1;
			memcpy(buf, b, n);
			buf[n] = '\0';
			found = true;
		}
		k++;
		if (e == NULL)
			break;
		p = e + 1;
	}
	*count = k;
	return found;
}

/* Parses the two numeric arguments of IntBetween / FloatRange into a. */
static bool
parse_args(const struct faker *f, const char *args, fake_args *a, mc_error *err)
{
	static const char *const argname[2] = {"min", "max"};
	int count = 0;

	memset(a, 0, sizeof(*a));
	if (f->args == ARGS_NONE) {
		for (const char *p = args ? args : ""; *p; p++)
			if (!isspace((unsigned char)*p)) {
				mc_error_set(err, MC_EINVAL, "", "faker \"%s\" takes no arguments", f->name);
				return false;
			}
		return true;
	}
	if (args == NULL) {
		mc_error_set(err, MC_EINVAL, "", "faker \"%s\" needs arguments (min,max)", f->name);
		return false;
	}
	for (int i = 0; i < 2; i++) {
		char buf[64], *end;

		arg_text(args, i, buf, sizeof(buf), &count);
		if (count != 2) {
			mc_error_set(err, MC_EINVAL, "", "faker \"%s\" takes 2 arguments (min,max), got %d",
			             f->name, count);
			return false;
		}
		errno = 0;
		if (f->args == ARGS_INT2) {
			long long v = strtoll(buf, &end, 10);

			if (buf[0] == '\0' || *end != '\0' || errno != 0) {
				mc_error_set(err, MC_EINVAL, "",
				             "faker \"%s\": argument %s \"%s\" is not an integer", f->name,
				             argname[i], buf);
				return false;
			}
			a->i[i] = v;
		} else {
			double v = strtod(buf, &end);

			if (buf[0] == '\0' || *end != '\0' || errno != 0 || !isfinite(v)) {
				mc_error_set(err, MC_EINVAL, "",
				             "faker \"%s\": argument %s \"%s\" is not a number", f->name,
				             argname[i], buf);
				return false;
			}
			a->d[i] = v;
		}
	}
	a->n = 2;
	if ((f->args == ARGS_INT2 && a->i[0] > a->i[1]) || (f->args == ARGS_REAL2 && a->d[0] > a->d[1])) {
		mc_error_set(err, MC_EINVAL, "", "faker \"%s\": argument max is less than min", f->name);
		return false;
	}
	return true;
}

/*
 * Produces $.fake.<name>(args). args is the raw text between the parentheses (NULL
 * when there were none). Returns a new reference, or NULL with err set: unknown
 * name, arguments given to a faker that takes none, or a missing/non-numeric
 * argument (the message names it: min or max).
 */
json_t *
mc_fake(const char *name, const char *args, mc_rng *rng, int64_t now, mc_error *err)
{
	const struct faker *f = name ? find_faker(name) : NULL;
	fake_args a;
	json_t *v;

	if (f == NULL) {
		mc_error_set(err, MC_EINVAL, "", "unknown faker \"%s\"", name ? name : "");
		return NULL;
	}
	if (!parse_args(f, args, &a, err))
		return NULL;
	v = f->fn(rng, now, &a);
	if (v == NULL)
		mc_error_set(err, MC_ENOMEM, "", "out of memory in faker \"%s\"", name);
	return v;
}

/* See core.h: the argument checks of mc_fake, without the generator. */
mc_status
mc_faker_check(const char *name, const char *args, mc_error *err)
{
	const struct faker *f = name ? find_faker(name) : NULL;
	fake_args a;

	if (f == NULL) {
		mc_error_set(err, MC_EINVAL, "", "unknown faker \"%s\"", name ? name : "");
		return MC_EINVAL;
	}
	return parse_args(f, args, &a, err) ? MC_OK : MC_EINVAL;
}
