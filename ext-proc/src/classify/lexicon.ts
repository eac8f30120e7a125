/**
 * Hand-written word lists behind the cheap features: stop words for language detection, question
 * words, multi-step / proof / design / constraint / answer-form / requirement markers and a few
 * domain cue words, in English and Spanish side by side, then Portuguese, French and German, so
 * that every language lights the same features.
 *
 * Words are written folded (lower case, no accents: "demuestra", "analisis", "que"); the tables are
 * keyed by the same 32-bit hash the extractor computes while scanning, so a lookup is one Map get.
 */
import { pairHash, wordHash } from './hash.js';
import { IntMap } from './intmap.js';

// --- Bits of a lexicon entry -------------------------------------------------------------------
// Language evidence (not features of their own: they feed the language decision).
export const L_EN = 1 << 0;
export const L_ES = 1 << 1;
export const L_OTHER = 1 << 2;
// Question openers (looked at only at the start of a sentence of the instruction).
export const Q_FACTOID = 1 << 3;
export const Q_EXPLAIN = 1 << 4;
export const Q_YESNO = 1 << 5;
// "first … then …"
export const M_FIRST = 1 << 6;
export const M_THEN = 1 << 7;
// Counted markers: each one becomes a dense feature per region (instruction / material / context).
export const MARKER_SHIFT = 8;
export const MARKERS = [
  'proof',
  'steps',
  'design',
  'analyze',
  'constraint',
  'extract',
  'summarize',
  'translate',
  'smalltalk',
  'continue',
  'error',
  'codeword',
  'mathword',
  'creative',
  'legal',
  'medical',
  'finance',
  'dataword',
  'explainword',
  'simpletask',
  'brief',
  'taskverb',
  'answerform',
  'requirement',
] as const;
export type Marker = (typeof MARKERS)[number];
export const MARKER_COUNT = MARKERS.length;

function m(name: Marker): number {
  const i = MARKERS.indexOf(name);
  return 1 << (MARKER_SHIFT + i);
}

const WORDS: Array<[number, string]> = [
  // English stop words (words that are not also common Spanish words).
  [
    L_EN,
    'the of and to in is that it for was on are with as be this what how why which who can you your i my do does an or if not from by at have has will would should please there their they we about into when where than just its these those been being were our could any some more most other such only also very after before them then because',
  ],
  // Spanish stop words.
  [
    L_ES,
    'el los las del que y es en por para con una un lo se su sus al como mas pero este esta esto estos estas cual cuales quien quienes donde cuando porque muy tambien sobre entre hay ser son tiene tienen puedes puede dame escribe explica hola gracias mi tu yo usted ese esa eso desde hasta sin segun cada todo todos ya la de si cuanto cuantos cuanta cuantas como tengo hacer quiero necesito ayudame algun alguna ningun nuestra nuestro ellos ellas aqui despues antes luego entonces',
  ],
  // Other languages (French, German, Italian, Portuguese): evidence against en/es.
  [
    L_OTHER,
    'le les est et une des du je vous il elle pas dans avec sur qui ce cette sont aux nous mais tres der die das und ist nicht ich sie mit ein eine auf fur wie auch den dem von wir sind oder aber wenn bitte il della che sono questo anche gli nao voce uma com isso tambem ao ele ela muito obrigado voces fazer',
  ],

  [Q_FACTOID, 'what who when where which whose que quien quienes cuando donde cual cuales cuanto cuantos cuanta cuantas name list nombra lista'],
  [Q_EXPLAIN, 'why how explain describe porque como explica explicame describe describa explique'],
  [Q_YESNO, 'is are does do did can could was were will would should has have es son puede pueden hay existe esta estan tiene'],
  [M_FIRST, 'first firstly primero primeramente initially inicialmente'],
  [M_THEN, 'then next afterwards finally luego despues finalmente entonces posteriormente'],

  [
    m('proof'),
    'prove proof proofs demonstrate derive derivation theorem lemma corollary rigorous rigorously formally induction contradiction demuestra demostrar demostracion demuestre deriva derivar derivacion teorema lema corolario riguroso rigurosa rigurosamente formalmente induccion contradiccion justify justifica justificar',
  ],
  [m('steps'), 'stepwise reasoning razonamiento razona reason'],
  [
    m('design'),
    'design architecture architect scalable scalability distributed tradeoff tradeoffs optimize optimise optimization refactor migrate migration strategy roadmap plan planning disena disenar diseno arquitectura escalable escalabilidad distribuido optimiza optimizar optimizacion refactoriza migrar migracion estrategia planifica planificar',
  ],
  [
    m('analyze'),
    'analyze analyse analysis evaluate assess compare comparison critique critically implications risks pros cons weigh recommend analiza analizar analisis evalua evaluar compara comparar comparacion critica implicaciones riesgos ventajas desventajas recomienda',
  ],
  [
    m('constraint'),
    'must exactly without only ensure avoid limit limited maximum minimum least most under within constraint constraints requirement requirements debe deben exactamente sin solo unicamente asegura asegurate evita limite maximo minimo menos restriccion restricciones requisito requisitos',
  ],
  [
    m('extract'),
    'title titled headline date author name names year mentioned mention cited called titulo fecha autor nombre nombres ano menciona mencionado llama llamado firma firmado',
  ],
  [m('summarize'), 'summarize summarise summary summarizing tldr recap resume resumen resumir resumeme sintetiza sintesis'],
  [
    m('translate'),
    'translate translation translations translated translating translator traduce traducir traduccion traducciones traducido traduceme traductor english spanish french german italian portuguese japanese chinese ingles espanol frances aleman italiano portugues japones chino castellano localize localization localiza localizacion idiom idioms modismo modismos',
  ],
  [m('smalltalk'), 'hi hello hey thanks thank ok okay great cool perfect awesome bye hola gracias vale genial perfecto adios buenas buenos saludos'],
  [
    m('continue'),
    'continue go keep more expand elaborate further again shorter longer continua sigue seguir amplia ampliar detalla desarrolla otra vez mas corto largo',
  ],
  [
    m('error'),
    'error errors exception traceback stacktrace bug bugs crash crashes fails failing failed segfault panic undefined null fallo falla fallando excepcion',
  ],
  [
    m('codeword'),
    'def function functions func fn const var import void int bool boolean println printf console async await lambda elif self struct impl typescript javascript python java rust golang kotlin swift csharp cpp php ruby sql regex api apis endpoint endpoints compile compiler compilation script scripts code codigo programa programming programacion funcion funciones clase metodo method variable variables array arrays loop bucle bug debug debugging depurar git github docker kubernetes nginx linux bash shell terminal backend frontend framework library libreria react django flask node npm pip deploy deployment despliegue servidor server database query consulta queries http json yaml html css repository repositorio commit branch rama merge thread threads hilo hilos concurrency concurrencia algorithm algoritmo recursion recursive recursiva microservices microservicios cache latency latencia refactor unittest tests test pytest jest',
  ],
  [
    m('mathword'),
    'equation equations integral integrals derivative derivatives matrix matrices eigenvalue eigenvalues polynomial polynomials prime primes integer integers solve probability limit limits series vector vectors sqrt sum theorem proof geometry algebra calculus triangle triangles circle angle angles fraction fractions decimal percentage percent arithmetic logarithm logarithms exponent function sequence sequences group groups topology inequality inequalities factorial combinatorics permutation permutations combinations dice area perimeter volume radius diameter ecuacion ecuaciones integrales derivada derivadas matriz matrices autovalor autovalores polinomio polinomios primo primos entero enteros resuelve resolver probabilidad serie series suma raiz teorema geometria algebra calculo triangulo triangulos circulo angulo angulos fraccion fracciones porcentaje aritmetica logaritmo logaritmos exponente sucesion sucesiones grupo grupos topologia inecuacion desigualdad factorial combinatoria permutaciones combinaciones dados perimetro volumen radio diametro',
  ],
  [
    m('creative'),
    'poem poems poetry poet story stories tale tales haiku sonnet sonnets lyrics song songs fiction character characters plot novel novels slogan slogans verse verses rhyme rhymes rhyming limerick fable narrative narrator chapter screenplay scene dialogue fantasy villain hero joke jokes pun puns metaphor imaginative creative invent fairy bedtime toast caption poema poemas poesia poeta cuento cuentos relato relatos historia historias soneto sonetos letra cancion canciones ficcion personaje personajes trama novela novelas eslogan eslogans verso versos rima rimas fabula narrador capitulo guion escena dialogo fantasia villano heroe chiste chistes metafora imaginativo creativo inventa hada microrrelato greguerias trabalenguas',
  ],
  [
    m('legal'),
    'law laws legal legally contract contracts clause clauses court courts lawsuit sue liability liable statute statutes regulation regulations gdpr tenant tenants landlord lease leases plaintiff defendant attorney lawyer lawyers judge jurisdiction litigation copyright trademark patent patents infringement compliance enforceable enforceability breach damages indemnify indemnification arbitration mediation will wills probate inheritance custody divorce eviction rights license licence terms agreement agreements nda notary ley leyes legal legalmente contrato contratos clausula clausulas tribunal tribunales demanda demandar responsabilidad reglamento normativa rgpd inquilino inquilinos arrendador arrendatario arrendamiento alquiler casero fianza abogado abogados juez juzgado jurisdiccion litigio derechos autor marca patente infraccion cumplimiento incumplimiento indemnizacion arbitraje mediacion testamento herencia herederos custodia divorcio desahucio licencia condiciones acuerdo notario despido multa recurso sociedad estatutos',
  ],
  [
    m('medical'),
    'symptom symptoms diagnosis diagnose dose dosage mg medication medications medicine drug drugs disease diseases patient patients doctor physician treatment treatments pain fever blood clinical health heart cardiac kidney renal liver lung lungs infection infections virus bacteria antibiotic antibiotics vaccine vaccines cancer tumor diabetes insulin cholesterol hypertension pressure pregnancy pregnant surgery therapy allergy allergies sleep insomnia anxiety depression headache nausea rash skin injury hospital nurse prescription chronic acute bone bones tooth teeth dental muscle muscles stomach brain eye eyes ear ears throat knee spine joint joints cough vomiting dizziness pill pills tablet tablets pharmacy vitamin vitamins calories nutrition diet wound fracture sintoma sintomas diagnostico dosis medicamento medicamentos medicina farmaco farmacos enfermedad enfermedades paciente pacientes medico medica tratamiento tratamientos dolor fiebre sangre clinico clinica salud corazon cardiaco rinon renal higado pulmon infeccion infecciones virus bacterias antibiotico antibioticos vacuna vacunas cancer tumor diabetes insulina colesterol hipertension tension embarazo embarazada cirugia terapia alergia alergias sueno insomnio ansiedad depresion nauseas erupcion piel lesion hospital enfermera receta cronico agudo hueso huesos diente dientes dental musculo musculos estomago cerebro ojo ojos oido garganta rodilla columna articulacion tos vomitos mareo pastilla pastillas comprimido comprimidos farmacia vitamina vitaminas calorias nutricion dieta herida fractura',
  ],
  [
    m('finance'),
    'invest investment investments investing investor investors stock stocks share shares bond bonds portfolio interest loan loans mortgage tax taxes revenue profit profits budget inflation dividend dividends fund funds etf ira retirement pension savings saving bank banking credit debt equity valuation cash flow earnings margin margins accounting balance sheet income expense expenses price pricing returns yield fees market markets trading hedge option options currency exchange salary insurance invertir inversion inversiones inversor inversores accion acciones bono bonos cartera interes intereses prestamo prestamos hipoteca impuesto impuestos irpf iva ingresos beneficio beneficios presupuesto inflacion dividendo dividendos fondo fondos jubilacion pension ahorro ahorros banco credito deuda valoracion flujo caja margen contabilidad balance gastos precio rentabilidad comisiones mercado mercados bolsa cotizacion divisa cambio sueldo seguro seguros euribor',
  ],
  [
    m('dataword'),
    'csv dataset datasets spreadsheet spreadsheets excel sheets column columns row rows table tables pivot average median chart charts dashboard dashboards data analytics analysis metrics kpi kpis cohort cohorts regression correlation outlier outliers statistics statistical forecast forecasting warehouse pipeline etl records duplicates cleaning visualization survey sample aggregate vlookup formula formulas hoja hojas columna columnas fila filas tabla tablas dinamica promedio mediana grafico graficos cuadro mando datos analitica analisis metricas indicadores cohorte regresion correlacion atipicos estadistica estadisticas prevision almacen registros duplicados limpieza visualizacion encuesta muestra agregar buscarv formula formulas',
  ],
  [m('explainword'), 'explain why difference differences understand meaning works explica explicame diferencia diferencias entender significa funciona'],
  [m('brief'), 'briefly brief quick quickly oneliner tldr brevemente breve rapido rapidamente resumidamente'],
  [
    m('taskverb'),
    'explain analyze analyse propose compare design write compute calculate list describe evaluate justify build plan rank identify recommend discuss outline derive prove implement create develop review assess estimate model draft find decide argue weigh explica analiza propon compara disena escribe calcula enumera describe evalua justifica construye planifica ordena identifica recomienda discute esboza deriva demuestra implementa crea desarrolla revisa valora estima modela redacta encuentra decide argumenta razona',
  ],
  [
    m('simpletask'),
    'capital spell synonym antonym define definition convert fix typo capitalize sinonimo antonimo define definicion convierte corrige mayusculas',
  ],
  // --- Portuguese, French and German cue words for the same families (one entry per family). ---
  [
    Q_FACTOID,
    'quem quando onde qual quais quanto quantos quantas qui quand quel quelle quels quelles combien wer wann wo welche welcher welches wieviel wieviele nenne',
  ],
  [Q_EXPLAIN, 'explique descreva pourquoi comment expliquez expliquer decrivez warum wieso weshalb erklare erlautere beschreibe'],
  [Q_YESNO, 'pode podem existe peut peuvent ist sind kann gibt hat'],
  [M_FIRST, 'primeiro primeiramente premierement abord zuerst zunachst erstens'],
  [M_THEN, 'depois entao finalmente puis ensuite enfin finalement dann danach anschließend schließlich'],
  [
    m('proof'),
    'provar demonstre demonstrar demonstracao derivar derivacao lema corolario rigoroso rigorosamente inducao contradicao justifique prouver prouvez demontrer demontrez demonstration deriver derivez theoreme lemme corollaire rigoureux rigoureuse rigoureusement formellement recurrence absurde justifier justifiez beweisen beweise beweis beweist herleiten herleitung korollar streng induktion widerspruch begrunde begrunden',
  ],
  [m('steps'), 'raciocinio raisonnement raisonne denkweise'],
  [
    m('design'),
    'projete projetar arquitetura escalavel escalabilidade distribuido otimize otimizar otimizacao refatore refatorar migracao estrategia planeje planejar compensacoes concevoir concevez conception evolutif scalabilite distribue optimiser optimisez optimisation refactoriser migrer strategie planifier planification compromis entwerfen entwirf entwurf architektur skalierbar skalierbarkeit verteilt verteilte optimieren optimierung refaktorieren migrieren planen planung konzipiere abwagungen zielkonflikt',
  ],
  [
    m('analyze'),
    'analise analisar avalie avaliar comparar comparacao implicacoes riscos vantagens desvantagens recomende analyser analysez evaluer evaluez comparer comparez comparaison risques avantages inconvenients recommandez recommander analysieren analysiere bewerten bewerte vergleichen vergleiche vergleich kritisch risiken vorteile nachteile empfehle empfehlen beurteile beurteilen',
  ],
  [
    m('constraint'),
    'deve devem exatamente sem somente apenas garanta evite restricao restricoes doit doivent exactement sans seulement uniquement assurez evitez contrainte contraintes exigence exigences muss mussen genau ohne nur vermeide vermeiden hochstens mindestens maximal einschrankung einschrankungen anforderung anforderungen bedingung bedingungen',
  ],
  [m('extract'), 'data nome ano mencionado chamado titre auteur nom annee mentionne appele titel datum autor namen jahr erwahnt genannt heißt'],
  [m('summarize'), 'resuma resumo sintetize resumer resumez synthese synthetiser zusammenfassen zusammenfassung fasse'],
  [
    m('translate'),
    'traduza traduzir traducao traduzido tradutor espanhol alemao chines traduire traduisez traduction traduit traducteur anglais espagnol francais allemand italien portugais japonais chinois ubersetze ubersetzen ubersetzung ubersetzt englisch spanisch franzosisch deutsch italienisch portugiesisch japanisch chinesisch lokalisieren lokalisierung localiser localisation localizar localizacao',
  ],
  [m('smalltalk'), 'ola obrigado obrigada valeu tchau bonjour salut merci coucou hallo danke tschuss servus moin'],
  [m('continue'), 'continuar novo continuez continuer encore developpe developpez weiter fortsetzen fortfahren mehr nochmal erweitere ausfuhrlicher'],
  [m('error'), 'erro erros excecao falha falhando erreur erreurs plantage echoue echec fehler ausnahme absturz fehlgeschlagen'],
  [
    m('codeword'),
    'funcao funcoes classe metodo variavel laco servidor repositorio algoritmo programmation fonction fonctions methode boucle serveur requete depot algorithme programm programmierung funktion funktionen klasse schleife abfrage datenbank algorithmus skript',
  ],
  [
    m('mathword'),
    'equacao equacoes integrais derivada derivadas matriz matrizes autovalor polinomio primo primos inteiro inteiros resolva resolver probabilidade soma raiz geometria calculo triangulo circulo angulo fracao porcentagem logaritmo expoente sequencia desigualdade combinatoria permutacao equation integrale integrales derivee derivees matrice polynome polynomes entier entiers resoudre resolvez probabilite somme racine theoreme geometrie algebre calcul cercle fraction pourcentage logarithme exposant inegalite combinatoire gleichung gleichungen ableitung ableitungen matrix matrizen eigenwert eigenwerte polynom polynome primzahl primzahlen ganzzahl wahrscheinlichkeit reihe summe wurzel geometrie dreieck kreis winkel prozent logarithmus ungleichung kombinatorik',
  ],
  [
    m('creative'),
    'poema poesia conto contos soneto cancao ficcao personagem personagens enredo romance verso versos rima rimas narrador capitulo roteiro cena vilao heroi piada piadas metafora criativo invente poeme poemes poesie poete conte contes histoire histoires paroles chanson personnage personnages intrigue roman vers rime rimes fable narrateur chapitre scenario mechant heros blague blagues metaphore creatif gedicht gedichte dichter geschichte geschichten erzahlung marchen sonett liedtext lied songtext fiktion handlung reim reime fabel erzahler kapitel drehbuch szene bosewicht held witz witze metapher kreativ erfinde',
  ],
  [
    m('legal'),
    'lei leis juridico contrato contratos clausula clausulas tribunal responsabilidade regulamento lgpd inquilino locador locatario aluguel advogado juiz jurisdicao direitos patente infracao conformidade indenizacao arbitragem testamento heranca divorcio despejo licenca acordo cartorio demissao multa loi lois juridique contrat contrats clause clauses proces responsabilite reglement locataire bailleur bail loyer avocat juge juridiction droits brevet contrefacon conformite indemnisation testament succession divorce expulsion licence accord notaire licenciement amende gesetz gesetze rechtlich juristisch vertrag vertrage klausel klauseln gericht klage haftung verordnung dsgvo mieter vermieter mietvertrag miete anwalt rechtsanwalt richter rechte patent schadensersatz schiedsverfahren erbe erbschaft sorgerecht scheidung kundigung lizenz vereinbarung notar abmahnung bußgeld',
  ],
  [
    m('medical'),
    'sintoma sintomas diagnostico dose dosagem medicamento medicamentos remedio doenca doencas paciente medico tratamento dor febre sangue clinico saude coracao rim figado pulmao infeccao antibiotico vacina diabetes insulina colesterol hipertensao pressao gravidez gravida cirurgia terapia alergia sono insonia ansiedade depressao nausea pele lesao enfermeira cronico agudo osso dente musculo estomago cerebro olho garganta joelho tosse vomito tontura comprimido farmacia vitamina nutricao dieta ferida fratura exame exames symptome symptomes diagnostic posologie medicament medicaments maladie maladies medecin traitement douleur fievre sang clinique sante coeur rein foie poumon infection antibiotique vaccin diabete insuline cholesterol grossesse enceinte chirurgie therapie allergie sommeil insomnie anxiete migraine nausee peau blessure hopital infirmiere ordonnance chronique aigu dent estomac cerveau oeil gorge genou toux vertige comprime pharmacie vitamine symptom symptome diagnose dosis dosierung medikament medikamente arznei krankheit krankheiten patientin arzt arztin behandlung schmerz schmerzen fieber blut klinisch gesundheit herz niere leber lunge infektion entzundung antibiotikum impfung impfstoff krebs insulin cholesterin bluthochdruck blutdruck schwangerschaft schwanger therapie allergie schlaf schlaflosigkeit kopfschmerzen ubelkeit haut verletzung krankenhaus klinik rezept chronisch akut knochen zahn muskel magen gehirn auge knie husten erbrechen schwindel tablette tabletten apotheke ernahrung wunde befund',
  ],
  [
    m('finance'),
    'investir investimento investimentos investidor acoes carteira juros emprestimo hipoteca financiamento imposto impostos receita lucro orcamento inflacao dividendo dividendos fundo fundos aposentadoria previdencia poupanca banco credito divida patrimonio avaliacao fluxo caixa margem contabilidade balanco despesas preco rendimento taxas mercado bolsa cambio salario seguro investissement investissements investisseur actions obligation obligations portefeuille interet interets pret prets hypotheque credit impot impots revenus benefice benefices dividende dividendes fonds retraite epargne banque dette capitaux valorisation tresorerie marge comptabilite bilan depenses prix rendement frais marche marches bourse devise salaire assurance investieren investition investitionen anleger aktie aktien anleihe anleihen portfolio zinsen zins kredit darlehen hypothek steuer steuern einnahmen umsatz gewinn gewinne inflation dividende dividenden rente altersvorsorge sparen ersparnisse bank schulden eigenkapital bewertung cashflow buchhaltung bilanz ausgaben preis rendite gebuhren markt borse wahrung gehalt versicherung',
  ],
  [
    m('dataword'),
    'planilha planilhas coluna colunas linha linhas tabela tabelas media mediana grafico painel dados metricas regressao correlacao estatistica previsao registros duplicados limpeza visualizacao amostra tableur colonne colonnes ligne lignes tableau tableaux moyenne mediane graphique donnees metriques regression correlation statistique statistiques prevision enregistrements doublons nettoyage visualisation echantillon formule tabelle tabellen spalte spalten zeile zeilen durchschnitt mittelwert median diagramm daten kennzahlen regression korrelation statistik prognose datensatze datensatz duplikate bereinigung visualisierung umfrage stichprobe formel',
  ],
  [
    m('explainword'),
    'explique explicar diferenca diferencas entender significa funciona expliquer expliquez difference comprendre signifie fonctionne erklare erklaren unterschied unterschiede verstehen bedeutet funktioniert',
  ],
  [m('brief'), 'brevemente breve rapido resumidamente brievement bref rapide rapidement kurz kurze knapp'],
  [
    m('taskverb'),
    'explique analise proponha compare projete escreva calcule liste descreva avalie justifique construa planeje classifique identifique recomende discuta esboce derive prove implemente crie desenvolva revise estime modele redija encontre decida argumente expliquez analysez proposez comparez concevez ecrivez ecris calculez listez decrivez evaluez justifiez construisez planifiez classez identifiez recommandez discutez esquissez derivez prouvez implementez creez developpez revisez estimez modelisez redigez trouvez decidez argumentez erklare analysiere schlage vergleiche entwirf schreibe berechne beschreibe bewerte begrunde baue plane ordne identifiziere empfiehl diskutiere skizziere leite beweise implementiere erstelle entwickle uberprufe schatze modelliere verfasse finde entscheide argumentiere',
  ],
  [
    m('simpletask'),
    'soletre defina definicao converta corrija capitale synonyme antonyme definir convertir convertis corrigez hauptstadt synonym antonym definiere umrechnen konvertiere korrigiere',
  ],
  // --- Answer form asked for: a table, JSON, a list, one word… ---
  [
    m('answerform'),
    'table tabular json yaml xml markdown bullet bullets bulleted list numbered format formatted columns schema checklist template tabla formato lista vinetas esquema plantilla tabela topicos modelo tableau liste puces tabelle liste aufzahlung stichpunkte vorlage',
  ],
  // --- Asks that add a requirement: also, additionally, each, both, must include… ---
  [
    m('requirement'),
    'also additionally moreover furthermore include including includes each every both besides plus tambien ademas incluye incluir incluyendo incluya cada ambos ambas tambem alem inclua incluindo aussi egalement inclure incluez incluant chaque auch zusatzlich außerdem sowie berucksichtige jede jeder jedes beide',
  ],
];

/** Two-word entries: [bits, "first second|first second|…"]. */
const PAIRS: Array<[number, string]> = [
  [m('steps'), 'step by|by step|paso a|a paso|step step|think carefully|piensa bien|detalla cada|each step|cada paso'],
  [m('proof'), 'show that|muestra que|prove that|demuestra que|demostrar que|probar que|prueba que'],
  [Q_EXPLAIN, 'por que'],
  [m('brief'), 'one sentence|one line|one word|few words|yes or no|in short|una frase|una linea|una palabra|pocas palabras|si o no|en corto'],
  [
    m('translate'),
    'you say|se dice|in english|in spanish|into english|into spanish|en ingles|al ingles|en espanol|al espanol|al frances|al aleman|into french|into german',
  ],
  [Q_FACTOID, 'how many|how much|how old|how long|what year|en que|a que|de que'],
  [m('constraint'), 'at most|at least|no more|no longer|como maximo|como minimo|al menos|no mas|menos de|less than|fewer than|no menos'],
  [m('design'), 'trade off|trade offs|system design|high availability|alta disponibilidad'],
  [m('steps'), 'passo a|etape par|par etape|schritt fur|fur schritt'],
  [
    m('proof'),
    'mostre que|mostrar que|provar que|prove que|demonstre que|montrer que|montrez que|prouver que|prouvez que|demontrer que|demontrez que|zeige dass|zeigen dass|beweise dass|beweisen sie',
  ],
  [m('constraint'), 'no maximo|pelo menos|no minimo|au moins|au plus|au maximum|pas plus|weniger als|nicht mehr|mais de'],
  [m('brief'), 'uma frase|uma palavra|uma linha|une phrase|un mot|une ligne|ein satz|einem satz|ein wort|einem wort|sim ou|oui ou|ja oder'],
  [
    m('translate'),
    'em ingles|en anglais|en francais|en espagnol|en allemand|auf englisch|auf deutsch|ins englische|ins deutsche|auf spanisch|ins spanische|auf franzosisch',
  ],
  [m('answerform'), 'one word|one line|in json|as json|en json|em json|als json|sous forme|als tabelle|en tabla|em tabela|en tableau'],
  [m('requirement'), 'as well|in addition|make sure|asegurate de|ademas de|alem disso|certifique se|en outre|assurez vous|de plus|achte darauf|stelle sicher'],
];

const lexicon = new Map<number, number>();
const pairLexicon = new Map<number, number>();

for (const [bits, words] of WORDS) {
  for (const w of words.split(/\s+/)) {
    if (!w) continue;
    const h = wordHash(w);
    lexicon.set(h, (lexicon.get(h) ?? 0) | bits);
  }
}
for (const [bits, pairs] of PAIRS) {
  for (const p of pairs.split('|')) {
    const [a, b] = p.split(' ');
    if (!a || !b) throw new Error(`lexicon: bad pair "${p}"`);
    const h = pairHash(wordHash(a), wordHash(b));
    pairLexicon.set(h, (pairLexicon.get(h) ?? 0) | bits);
  }
}

/** Word hash → bits. */
export const LEXICON = new IntMap(lexicon, lexicon.size);
/** pairHash(first, second) → bits. */
export const PAIR_LEXICON = new IntMap(pairLexicon, pairLexicon.size);

/** Fingerprint of the word lists: a model trained on other lists is refused at load. */
export function lexiconFingerprint(): string {
  let h = 0x12345678;
  for (const [bits, s] of [...WORDS, ...PAIRS]) {
    h = Math.imul(h ^ bits, 0x01000193);
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}
