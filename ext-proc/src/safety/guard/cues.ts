/**
 * The guard's cue lexicon, English and Spanish, written from the published taxonomies of prompt
 * injection (instruction override, prompt leaking, role-play and persona jailbreaks, refusal
 * suppression, indirect injection in documents and tool output, exfiltration through links and
 * images, obfuscation) — not from the labelled batches.
 *
 * Words belong to classes (a bit each). The extractor looks each normalised word up once and
 * combines classes that occur close together ("ignore … instructions", "sin … restricciones",
 * "don't tell … the user") into cue features; the trained model weighs them. Structural cues
 * (role markers at a line's start, chat-template tokens, markdown images with long query strings,
 * base64 blobs, hidden HTML) are regular expressions, run only when a cheap check says they can
 * match.
 */

export const CLS = {
  /** ignore, disregard, forget, bypass, override … / ignora, olvida, omite … */
  override: 1 << 0,
  /** previous, prior, above, all, original … / anteriores, previas, todas … */
  prior: 1 << 1,
  /** instructions, rules, guidelines, prompt, policies … / instrucciones, reglas, normas … */
  instructions: 1 << 2,
  /** reveal, print, show, repeat, output … / revela, muestra, repite, dime … */
  reveal: 1 << 3,
  /** system, hidden, secret, initial, internal … / sistema, ocultas, iniciales … */
  sysref: 1 << 4,
  /** ai, assistant, chatbot, llm, model, agent … / ia, asistente, modelo, agente … */
  ai: 1 << 5,
  /** you, your / tú, tus, te, eres … */
  you: 1 << 6,
  /** jailbreak, unrestricted, unfiltered, uncensored, amoral, evil … / sin censura, liberado … */
  persona: 1 << 7,
  /** no, not, never, without, don't / no, nunca, sin, jamás … */
  negation: 1 << 8,
  /** restrictions, limits, filters, censorship, ethics, warnings … / restricciones, límites … */
  restriction: 1 << 9,
  /** refuse, decline, apologise, disclaimer … / negarte, rechazar, disculpas … */
  refuse: 1 << 10,
  /** password, credentials, api key, token, secret … / contraseña, clave, credenciales … */
  secret: 1 << 11,
  /** tell, mention, inform, notify, alert / decir, mencionar, avisar, informar … */
  tell: 1 << 12,
  /** user, customer, human, reader / usuario, cliente, lector … */
  user: 1 << 13,
  /** secretly, silently, quietly, covertly / discretamente, sigilosamente … */
  conceal: 1 << 14,
  /** send, forward, transfer, delete, run, execute, visit, click … / envía, borra, ejecuta … */
  action: 1 << 15,
  /** summarise, summary, translate, process, read, analyse … / resumir, resumen, traducir … */
  task: 1 << 16,
  /** admin, developer, creator, owner, operator, root … / administrador, desarrollador … */
  authority: 1 << 17,
  /** priority, precedence, supersede, mandatory, urgent … / prioridad, obligatorio … */
  priority: 1 << 18,
  /** hypothetical, imagine, pretend, story, fiction, roleplay, game … / imagina, finge, juego … */
  fiction: 1 << 19,
  /** explain, example, detect, defend, attack, research, awareness … / explica, ejemplo, detectar … */
  education: 1 << 20,
  /** base64, decode, encoded, rot13, hex, cipher … / decodifica, codificado … */
  encoding: 1 << 21,
  /** follow, obey, execute, comply, do / sigue, obedece, cumple, haz … */
  obey: 1 << 22,
  /** new, updated, different / nueva, nuevas, actualizadas … */
  fresh: 1 << 23,
  /** void, cancelled, obsolete, revoked, lifted / anuladas, canceladas, obsoletas … */
  voided: 1 << 24,
  /** now, henceforth, onwards / ahora, adelante … */
  now: 1 << 25,
  /** i, i'm, we, me / yo, soy, somos … */
  first: 1 << 26,
  /** mode, persona, character, role / modo, personaje, papel … */
  mode: 1 << 27,
  /** note, attention, message, dear, hey / nota, atención, mensaje, aviso … (how a note to a reader opens) */
  address: 1 << 28,
  /** conversation, history, chat, transcript, context / conversación, historial, contexto … */
  conversation: 1 << 29,
} as const;
export type CueClass = keyof typeof CLS;

/**
 * Words of each class, normalised (lower case, no accents), separated by spaces. Spanish
 * first-person and imperative forms included.
 */
export const LEXICON: Readonly<Record<CueClass, string>> = {
  override:
    'ignore ignores ignoring ignored disregard disregarding forget forgetting bypass bypassing override ' +
    'overriding overrule skip discard abandon drop nullify supersede supersedes circumvent evade suspend ' +
    'deactivate disable unlearn ignora ignorar ignores ignoren ignorad ignorando olvida olvidar olvides ' +
    'olvide olvidate olvidando omite omitir omitas salta saltate saltarte saltar descarta descartar anula ' +
    'anular prescinde desobedece desactiva desactivar elude eludir evita evitar sobrescribe sustituye ' +
    'reemplaza',
  prior:
    'previous prior above earlier preceding original initial old all any every existing default current ' +
    'those these anteriores anterior previas previos previa previo todas todos toda todo cualquier ' +
    'originales iniciales actuales precedentes esas esos estas estos arriba',
  instructions:
    'instruction instructions rule rules guideline guidelines directive directives prompt prompts policy ' +
    'policies restriction restrictions constraint constraints guardrail guardrails programming orders ' +
    'commands configuration config settings limitations safeguards preprompt metaprompt directions ' +
    'guidance instrucciones instruccion reglas regla normas norma indicaciones directrices directriz ' +
    'politicas politica restricciones limitaciones ordenes programacion configuracion pautas consignas',
  reveal:
    'reveal show print output display repeat recite dump echo leak expose tell list share copy paste ' +
    'spell translate write give send return disclose quote verbatim reproduce paraphrase summarize ' +
    'summarise revela revelar revelame muestra muestrame mostrar imprime imprimir repite repetir dime ' +
    'decirme lista listar comparte compartir copia copiar pega pegar escribe escribir traduce traducir ' +
    'dame envia enviar manda devuelve ensena ensename literal literalmente textualmente',
  sysref:
    'system hidden secret initial internal underlying confidential developer preprompt metaprompt ' +
    'backstage sistema oculto oculta ocultos ocultas secreto secreta secretos secretas iniciales inicial ' +
    'interno interna internas internos confidencial confidenciales',
  ai:
    'ai assistant assistants chatbot chatbots bot bots llm llms model models gpt chatgpt claude gemini ' +
    'copilot agent agents ia ias asistente asistentes modelo modelos agente agentes robot robots machine ' +
    'machines maquina maquinas openai anthropic',
  you: 'you your yours yourself youre tu tus te ti usted eres estas contigo vosotros tuyo tuyas',
  persona:
    'jailbreak jailbroken jailbreaking dan unrestricted unfiltered uncensored unlimited unbound unchained ' +
    'unleashed amoral immoral unethical evil rogue liberated freed uncensor unlocked godmode anything ' +
    'opposite twin alter ego liberado liberada desatado desbloqueado desbloqueada malvado malvada inmoral ' +
    'rebelde censura opuesto gemelo limites',
  negation: 'no not never without dont don cannot nor none zero cant won wont sin nunca jamas ni ningun ninguna ' + 'ninguno nada',
  restriction:
    'restrictions restriction limits limit limitations filter filters filtered censorship censored ethics ' +
    'ethical morals moral morality warnings warning disclaimers disclaimer caveats boundaries guardrails ' +
    'safeguards safety policies rules guidelines restricciones limites limitaciones filtros filtro ' +
    'censura etica moral advertencias avisos politicas reglas normas seguridad escrupulos',
  refuse:
    'refuse refuses refusing refusal refusals decline declines apologize apologise apologies apology ' +
    'sorry reject deny niegues negarte negar niega rechaces rechazar disculpas disculparte perdon',
  secret:
    'password passwords passcode credential credentials api apikey key keys token tokens secret secrets ' +
    'env ssh private cookie cookies session contrasena contrasenas clave claves credenciales credencial ' +
    'secretos privada privadas',
  tell:
    'tell mention inform notify alert reveal say warn disclose flag report acknowledge decir digas diga ' +
    'decirle menciones mencionar mencionarlo avises avisar informes informar comentes reveles advertir ' +
    'adviertas',
  user: 'user users customer customers human reader requester operator usuario usuaria usuarios cliente ' + 'clientes lector humano',
  conceal:
    'secretly silently quietly covertly discreetly invisibly unnoticed stealthily discretamente ' +
    'sigilosamente silenciosamente secretamente disimuladamente',
  action:
    'send forward transfer wire pay delete remove run execute exec curl wget click visit open fetch ' +
    'navigate download upload post approve grant reset email call invoke envia reenvia transfiere paga ' +
    'borra elimina ejecuta abre visita descarga sube aprueba concede llama pulsa haz clic',
  task:
    'summarize summarise summarizing summarising summary translate translating process processing reading ' +
    'reads analyze analyse analyzing review reviewing parse parsing index indexing crawling scraping ' +
    'resumir resumen resumas resume resumiendo traducir traduzcas procesar procesando leer leyendo lees ' +
    'analizar analizando revisar revisando',
  authority:
    'admin administrator developer developers creator creators owner operator root sudo superuser staff ' +
    'engineer openai anthropic maintainer sysadmin administrador desarrollador desarrolladores creador ' +
    'propietario dueno responsable superusuario',
  priority:
    'priority precedence supersede supersedes overrides mandatory urgent important critical required must ' +
    'authorized authorised authorization clearance prioridad prevalece obligatorio obligatoria urgente ' +
    'importante autorizado autorizada autorizacion',
  fiction:
    'hypothetical hypothetically imagine pretend roleplay role story fiction fictional novel game ' +
    'simulate simulation act acting play scenario character movie screenplay dream hipotetico hipotetica ' +
    'hipoteticamente imagina imaginemos finge fingir juego juguemos historia ficcion novela simula ' +
    'simular actua interpreta personaje escenario pelicula cuento relato',
  education:
    'explain example examples detect detection defend defense defence mitigate mitigation prevent protect ' +
    'attack attacks attacker attackers research researchers paper article awareness training classify ' +
    'phishing owasp threat risk risks vulnerability explica explicame ejemplo ejemplos detectar defender ' +
    'mitigar prevenir proteger ataque ataques atacante investigacion articulo concienciacion formacion ' +
    'riesgo riesgos vulnerabilidad amenaza',
  encoding:
    'base64 decode decoded decoding encoded encoding rot13 hex hexadecimal cipher morse reversed ' +
    'backwards leetspeak obfuscated decodifica decodificar descifra descifrar codificado codificada ' +
    'cifrado reves',
  obey: 'follow obey execute comply do perform carry act apply sigue seguir obedece obedecer cumple cumplir ' + 'cumplela ejecuta ejecutalo haz hazlo aplica',
  fresh: 'new updated different revised real true actual nueva nuevas nuevo nuevos actualizadas actualizada ' + 'verdaderas reales',
  voided:
    'void cancelled canceled obsolete revoked lifted invalid suspended expired deprecated disabled ' +
    'removed anuladas anulada canceladas obsoletas revocadas suspendidas invalidas desactivadas caducadas ' +
    'eliminadas',
  now: 'now henceforth onwards onward forward ahora adelante delante',
  first: 'i im me we my yo soy somos mi',
  mode: 'mode persona character role identity modo personaje papel rol identidad',
  address: 'note attention message dear hey hello hi notice reminder nota atencion mensaje aviso hola querido ' + 'estimado recordatorio',
  conversation:
    'conversation conversations history chat transcript context messages memory session conversacion ' +
    'conversaciones historial chat contexto mensajes memoria sesion',
};

/** Two-word phrases, looked up on the pair of normalised words, with the classes they carry. */
export const PHRASES: ReadonlyArray<readonly [string, CueClass]> = [
  ['system prompt', 'sysref'],
  ['system message', 'sysref'],
  ['system instructions', 'sysref'],
  ['developer message', 'sysref'],
  ['developer mode', 'persona'],
  ['god mode', 'persona'],
  ['dev mode', 'persona'],
  ['no restrictions', 'persona'],
  ['stay in', 'persona'],
  ['break character', 'persona'],
  ['language model', 'ai'],
  ['language models', 'ai'],
  ['modelos de', 'ai'],
  ['modelo de', 'ai'],
  ['from now', 'now'],
  ['de ahora', 'now'],
  ['a partir', 'now'],
  ['en adelante', 'now'],
  ['modo desarrollador', 'persona'],
  ['modo dios', 'persona'],
  ['sin censura', 'persona'],
  ['prompt del', 'sysref'],
  ['mensaje del', 'sysref'],
  ['mensaje de', 'sysref'],
  ['api key', 'secret'],
  ['lo siento', 'refuse'],
  ['as an', 'refuse'],
  ['como modelo', 'refuse'],
];

/** Co-occurrence cues: class A then class B within `window` words (either order when `both`). */
export interface PairCue {
  name: string;
  a: CueClass;
  b: CueClass;
  window: number;
  both?: boolean;
}

export const PAIR_CUES: readonly PairCue[] = [
  { name: 'override_instructions', a: 'override', b: 'instructions', window: 6 },
  { name: 'override_prior', a: 'override', b: 'prior', window: 3 },
  { name: 'instructions_voided', a: 'instructions', b: 'voided', window: 6, both: true },
  { name: 'fresh_instructions', a: 'fresh', b: 'instructions', window: 2 },
  { name: 'self_instructions', a: 'you', b: 'instructions', window: 3, both: true },
  { name: 'system_instructions', a: 'sysref', b: 'instructions', window: 3, both: true },
  { name: 'reveal_system', a: 'reveal', b: 'sysref', window: 8 },
  { name: 'reveal_instructions', a: 'reveal', b: 'instructions', window: 8 },
  { name: 'reveal_secret', a: 'reveal', b: 'secret', window: 8, both: true },
  { name: 'no_restrictions', a: 'negation', b: 'restriction', window: 3 },
  { name: 'no_refusal', a: 'negation', b: 'refuse', window: 3 },
  { name: 'dont_tell', a: 'negation', b: 'tell', window: 3 },
  { name: 'tell_user', a: 'tell', b: 'user', window: 4 },
  { name: 'now_you', a: 'now', b: 'you', window: 4, both: true },
  { name: 'you_ai', a: 'you', b: 'ai', window: 3, both: true },
  { name: 'task_you', a: 'task', b: 'you', window: 3, both: true },
  { name: 'task_ai', a: 'task', b: 'ai', window: 4, both: true },
  { name: 'first_authority', a: 'first', b: 'authority', window: 3 },
  { name: 'authority_priority', a: 'authority', b: 'priority', window: 6, both: true },
  { name: 'encoding_obey', a: 'encoding', b: 'obey', window: 8, both: true },
  { name: 'persona_mode', a: 'persona', b: 'mode', window: 3, both: true },
  { name: 'fiction_persona', a: 'fiction', b: 'persona', window: 12, both: true },
  { name: 'action_user', a: 'action', b: 'user', window: 6, both: true },
  { name: 'ai_action', a: 'ai', b: 'action', window: 8 },
  { name: 'conceal_action', a: 'conceal', b: 'action', window: 8, both: true },
  { name: 'address_ai', a: 'address', b: 'ai', window: 4 },
  { name: 'instructions_ai', a: 'instructions', b: 'ai', window: 4 },
  { name: 'reveal_conversation', a: 'reveal', b: 'conversation', window: 8, both: true },
  { name: 'action_conversation', a: 'action', b: 'conversation', window: 8, both: true },
];

/** Classes counted on their own (log-scaled count). */
export const COUNT_CUES: readonly CueClass[] = ['persona', 'ai', 'you', 'education', 'fiction', 'conceal', 'secret', 'authority', 'action', 'override'];

/** Structural cues on the raw or normalised text. */
export const STRUCTURAL_CUES = [
  'role_line',
  'chat_template',
  'markdown_image_query',
  'url_long_query',
  'url_placeholder',
  'base64_blob',
  'base64_text',
  'html_comment',
  'css_hidden',
  'caps_alert',
  'invisible_chars',
  'tag_chars',
  'homoglyphs',
  'leetspeak',
  'spelled_out',
  'question',
  'length',
  'lines',
] as const;

/**
 * A line (or a quoted string, as in a tool's JSON) that starts with a role or instruction marker:
 * `SYSTEM:`, `### Instruction`, `[assistant]`, `"sistema: ...`, `Nota para la IA:`.
 */
export const ROLE_LINE =
  /(?:^|\n|")[ \t>*#[(<|=-]*(?:system|sistema|assistant|asistente|developer|desarrollador|admin|administrator|administrador|root|instructions?|instrucci(?:on|ones)|new instructions|nuevas instrucciones|ai|ia|llm|note to (?:the )?(?:ai|assistant|model|llm)|nota para (?:el |la )?(?:ia|asistente|modelo)|response|respuesta)[\])>|*#=]*\s*(?::|-{2,}|\n)/;
/** Chat-template tokens and fake conversation boundaries. */
export const CHAT_TEMPLATE =
  /<\|(?:im_start|im_end|system|user|assistant|endoftext|eot_id|start_header_id|end_header_id)\|>|\[\/?inst\]|<<\/?sys>>|<\/?(?:system|instructions?|admin)>|\bend of (?:user )?(?:input|document|context|prompt|conversation)\b|\bbegin (?:system|new|admin) (?:prompt|instructions?|message)\b|\bfin del (?:documento|contexto|mensaje)\b|={3,}\s*(?:system|new|admin)|-{3,}\s*(?:system|new instructions|instructions)/;
/** A markdown image whose URL carries a query string of 16+ characters (data out through an image fetch). */
export const MARKDOWN_IMAGE_QUERY = /!\[[^\]\n]{0,200}\]\(\s*<?https?:\/\/[^)\s?]{1,200}\?[^)\s]{16,}/i;
/** Any URL with a long query string. */
export const URL_LONG_QUERY = /https?:\/\/[^\s?#"')\]]{1,200}\?[^\s"')\]]{40,}/i;
/**
 * A URL with a template placeholder in it (`{data}`, `<SUMMARY>`, `[RESUMEN]`, `$HISTORY`, a query
 * value in capitals such as `?t=TEXTO`) or a conversation/secret parameter.
 */
export const URL_PLACEHOLDER =
  /https?:\/\/[^\s"')\]]*(?:\{[^}\s]{0,40}\}|%7b|<[A-Za-z_ ]{2,40}>|\[[A-Za-z_ ]{2,40}\]|\$[A-Za-z_]{2,}|=[A-Z][A-Z_]{2,}(?![a-z0-9])|=(?:insert|data|secret|history|conversation|chat|summary|password|token|key)\b)/;
export const HTML_COMMENT = /<!--[\s\S]{0,2000}?-->/;
export const CSS_HIDDEN =
  /display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0*[01](?:\.\d+)?(?:px|pt|em)?\b|opacity\s*:\s*0(?:\.0+)?\b|color\s*:\s*(?:#f{3}\b|#f{6}\b|white\b|transparent\b)|\bwhite text\b|texto blanco/i;
/** An all-caps alert word followed by `:` or `!`, as injected notes start. */
export const CAPS_ALERT = /\b(?:IMPORTANT|ATTENTION|URGENT|NOTICE|WARNING|NOTE|ATENCI[OÓ]N|IMPORTANTE|URGENTE|AVISO|NOTA)\b\s*[:!]/;
