//! Messages, not sentences: every finding and verdict carries a [`Message`] — a stable id and
//! typed parameters — beside its English `summary`, and [`render`] turns it into plain words in
//! English, French or Arabic from one table ([`TEMPLATES`]). The CLI (`--lang`) and the page (through
//! the wasm `render_messages` export) both render from this table, so a sentence exists once.
//!
//! Parameters are typed by the suffix of their name, which [`render`] formats for the language:
//! `_s` seconds, `_ms` milliseconds, `_bps` bit/s, `_pct` percent, `app` an app id (rendered as
//! its display name; `other` as "other traffic"), any other number a count, any other string
//! verbatim (addresses, names from the capture: isolated left-to-right in Arabic).
//!
//! The message of a finding is a function of the finding alone (kind and evidence), computed
//! when it is serialised, so detectors only build evidence; the message of a verdict comes from
//! its status, service, app and, without findings, the reason it is inconclusive.

use super::evidence::Evidence;
use super::{Finding, Verdict};
use crate::model::{App, FindingKind, Service, Status};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// A message id and its parameters (see the module docs for how a parameter's name types it).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Message {
    pub id: &'static str,
    pub params: BTreeMap<&'static str, Param>,
}

/// One parameter value.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Param {
    Int(u64),
    Num(f64),
    Text(String),
}

impl From<u64> for Param {
    fn from(v: u64) -> Param {
        Param::Int(v)
    }
}
impl From<usize> for Param {
    fn from(v: usize) -> Param {
        Param::Int(v as u64)
    }
}
impl From<u32> for Param {
    fn from(v: u32) -> Param {
        Param::Int(u64::from(v))
    }
}
impl From<f64> for Param {
    fn from(v: f64) -> Param {
        Param::Num(v)
    }
}
impl From<String> for Param {
    fn from(v: String) -> Param {
        Param::Text(v)
    }
}
impl From<&str> for Param {
    fn from(v: &str) -> Param {
        Param::Text(v.to_string())
    }
}

impl Message {
    fn new(id: &'static str) -> Message {
        Message {
            id,
            params: BTreeMap::new(),
        }
    }
    fn with(mut self, name: &'static str, v: impl Into<Param>) -> Message {
        self.params.insert(name, v.into());
        self
    }
}

/// The languages messages are written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    En,
    Fr,
    Ar,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::En, Lang::Fr, Lang::Ar];
    /// `en`, `fr`, `ar`, or a locale such as `fr_FR.UTF-8` / `ar-MA`; `None` for others.
    pub fn parse(s: &str) -> Option<Lang> {
        let base = s
            .split(['_', '-', '.', '@'])
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        match base.as_str() {
            "en" | "c" | "posix" => Some(Lang::En),
            "fr" => Some(Lang::Fr),
            "ar" => Some(Lang::Ar),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
            Lang::Ar => "ar",
        }
    }
}

/// One message in the three languages; `{name}` marks a parameter.
#[derive(Clone, Copy, Debug)]
pub struct Template {
    pub id: &'static str,
    pub en: &'static str,
    pub fr: &'static str,
    pub ar: &'static str,
}

impl Template {
    pub fn text(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::En => self.en,
            Lang::Fr => self.fr,
            Lang::Ar => self.ar,
        }
    }
}

macro_rules! templates {
    ($($id:literal => [$en:literal, $fr:literal, $ar:literal],)+) => {
        /// Every message, by id.
        pub const TEMPLATES: &[Template] = &[$(Template { id: $id, en: $en, fr: $fr, ar: $ar },)+];
    };
}

templates! {
    // ---- verdict headlines ----
    "verdict.blocked.call" => ["{app} calls were blocked.", "Les appels {app} ont été bloqués.", "حُظرت مكالمات {app}."],
    "verdict.blocked" => ["{app} was blocked.", "{app} a été bloqué.", "حُظر {app}."],
    "verdict.throttled.call" => ["{app} calls were slowed down on purpose.", "Les appels {app} ont été ralentis délibérément.", "أُبطئت مكالمات {app} عمدًا."],
    "verdict.throttled" => ["{app} was slowed down on purpose.", "{app} a été ralenti délibérément.", "أُبطئ {app} عمدًا."],
    "verdict.degraded.call" => ["{app} calls got through, but with poor quality.", "Les appels {app} passaient, mais avec une mauvaise qualité.", "مرّت مكالمات {app} لكن بجودة رديئة."],
    "verdict.degraded" => ["{app} worked, but poorly.", "{app} fonctionnait, mais mal.", "عمل {app} لكن بشكل سيئ."],
    "verdict.ok.call" => ["{app} calls worked: sound went both ways.", "Les appels {app} ont fonctionné : le son passait dans les deux sens.", "نجحت مكالمات {app}: مرّ الصوت في الاتجاهين."],
    "verdict.ok" => ["{app} worked.", "{app} a fonctionné.", "عمل {app} بشكل طبيعي."],
    "verdict.inconclusive" => ["{app}: we cannot tell for sure.", "{app} : impossible de conclure avec certitude.", "{app}: لا يمكن الجزم."],
    "verdict.inconclusive.one_direction_capture" => ["{app}: we cannot tell — the capture holds only one direction of traffic, so answers that never came look the same as answers that were not recorded.", "{app} : impossible de conclure — la capture ne contient qu'un sens du trafic ; une réponse jamais arrivée ne se distingue pas d'une réponse non enregistrée.", "{app}: لا يمكن الحكم — التسجيل يحتوي اتجاهًا واحدًا فقط من الحركة، فلا يمكن التمييز بين ردّ لم يصل وردّ لم يُسجَّل."],
    "verdict.inconclusive.one_direction_flows" => ["{app}: we cannot tell — only one direction of its traffic was recorded ({packets} packets).", "{app} : impossible de conclure — un seul sens de son trafic a été enregistré ({packets} paquets).", "{app}: لا يمكن الحكم — سُجّل اتجاه واحد فقط من حركته ({packets} حزمة)."],
    "verdict.inconclusive.too_little" => ["{app}: we cannot tell — too little traffic to judge ({packets} packets over {span_s}).", "{app} : impossible de conclure — trop peu de trafic pour juger ({packets} paquets en {span_s}).", "{app}: لا يمكن الحكم — الحركة أقل من أن يُحكم عليها ({packets} حزمة خلال {span_s})."],
    "verdict.inconclusive.nothing_to_judge" => ["{app}: nothing to judge — it holds no packets or no flow this tool can read, so it says nothing about blocking.", "{app} : rien à juger — elle ne contient aucun paquet ou aucun flux lisible, elle ne dit donc rien d'un blocage.", "{app}: لا شيء للحكم عليه — لا يحتوي على حزم أو تدفقات مقروءة، فلا يقول شيئًا عن الحظر."],
    "verdict.inconclusive.unanswered" => ["{app}: we cannot tell — something went unanswered, but nothing else in the capture shows whether the other end was reachable.", "{app} : impossible de conclure — une demande est restée sans réponse, mais rien d'autre dans la capture ne montre si l'autre extrémité était joignable.", "{app}: لا يمكن الحكم — بقي طلب بلا ردّ، لكن لا شيء آخر في التسجيل يُظهر ما إذا كان الطرف الآخر قابلًا للوصول."],
    "verdict.inconclusive.limits_cut" => ["{app}: we cannot tell for sure — limits cut part of the evidence (see the limits listed).", "{app} : impossible de conclure avec certitude — des limites ont coupé une partie des preuves (voir les limites listées).", "{app}: لا يمكن الجزم — قطعت حدودٌ جزءًا من الأدلة (انظر الحدود المذكورة)."],
    "verdict.inconclusive.no_call" => ["{app}: there is no call in this capture, so it cannot show whether calls are blocked; its other traffic worked.", "{app} : aucune conversation dans cette capture, elle ne peut donc pas montrer si les appels sont bloqués ; le reste de son trafic fonctionnait.", "{app}: لا توجد مكالمة في هذا التسجيل، فلا يمكنه إثبات حظر المكالمات؛ بقية حركته عملت."],
    // ---- findings: what happened, in plain words ----
    "finding.tcp_reset_injected" => ["Connection {flow} was cut by a reset that the other end did not send ({tests} tell-tale signs).", "La connexion {flow} a été coupée par une réinitialisation que l'autre extrémité n'a pas envoyée ({tests} indices).", "قُطع الاتصال {flow} بإشارة إعادة تعيين لم يرسلها الطرف الآخر ({tests} مؤشرات)."],
    "finding.tcp_reset_injected.sni" => ["The connection to {sni} was cut by a reset that the server did not send ({tests} tell-tale signs).", "La connexion vers {sni} a été coupée par une réinitialisation que le serveur n'a pas envoyée ({tests} indices).", "قُطع الاتصال بـ {sni} بإشارة إعادة تعيين لم يرسلها الخادم ({tests} مؤشرات)."],
    "finding.tcp_reset_suspicious" => ["Connection {flow} ended with a reset that looks unusual, but not clearly forged.", "La connexion {flow} s'est terminée par une réinitialisation inhabituelle, mais pas clairement falsifiée.", "انتهى الاتصال {flow} بإشارة إعادة تعيين غير معتادة، لكنها ليست مزوّرة بوضوح."],
    "finding.tcp_reset_suspicious.penalty_box" => ["Connection {flow} was reset {after_s} after a forged reset cut connection {after_flow}.", "La connexion {flow} a été réinitialisée {after_s} après qu'une réinitialisation falsifiée a coupé la connexion {after_flow}.", "أُعيد تعيين الاتصال {flow} بعد {after_s} من قطع الاتصال {after_flow} بإشارة مزوّرة."],
    "finding.handshake_timeout" => ["The server never answered: {syns} connection attempts over {span_s} got no reply.", "Le serveur n'a jamais répondu : {syns} tentatives de connexion en {span_s}, sans réponse.", "لم يردّ الخادم أبدًا: {syns} محاولات اتصال خلال {span_s} بلا ردّ."],
    "finding.handshake_timeout.sni" => ["{sni} never answered: {syns} connection attempts over {span_s} got no reply.", "{sni} n'a jamais répondu : {syns} tentatives de connexion en {span_s}, sans réponse.", "لم يردّ {sni} أبدًا: {syns} محاولات اتصال خلال {span_s} بلا ردّ."],
    "finding.handshake_rejected" => ["The connection was refused by a reset {response_ms} after it was requested.", "La connexion a été refusée par une réinitialisation {response_ms} après la demande.", "رُفض الاتصال بإشارة إعادة تعيين بعد {response_ms} من طلبه."],
    "finding.handshake_rejected.icmp" => ["The connection was refused by an error message from {icmp_from}.", "La connexion a été refusée par un message d'erreur de {icmp_from}.", "رُفض الاتصال برسالة خطأ من {icmp_from}."],
    "finding.tls_sni_reset" => ["The secure connection to {sni} was cut {rst_delay_ms} after its name was sent, by a reset the server did not send.", "La connexion sécurisée vers {sni} a été coupée {rst_delay_ms} après l'envoi de son nom, par une réinitialisation que le serveur n'a pas envoyée.", "قُطع الاتصال الآمن بـ {sni} بعد {rst_delay_ms} من إرسال اسمه، بإشارة إعادة تعيين لم يرسلها الخادم."],
    "finding.tls_sni_drop" => ["The secure connection to {sni} stalled once its name was sent: {retransmissions} retries over {span_s}, no answer.", "La connexion sécurisée vers {sni} s'est bloquée dès l'envoi de son nom : {retransmissions} renvois en {span_s}, sans réponse.", "توقّف الاتصال الآمن بـ {sni} فور إرسال اسمه: {retransmissions} إعادة إرسال خلال {span_s} بلا ردّ."],
    "finding.quic_blocked" => ["QUIC to {sni} got no answer ({initials} attempts over {span_s}).", "QUIC vers {sni} n'a reçu aucune réponse ({initials} tentatives en {span_s}).", "لم يتلقّ QUIC إلى {sni} أي ردّ ({initials} محاولات خلال {span_s})."],
    "finding.udp_media_blocked" => ["Your device kept sending call audio for {silence_s}, and nothing came back ({sent} packets sent after the other side went silent).", "Votre appareil a continué d'envoyer le son de l'appel pendant {silence_s}, et rien n'est revenu ({sent} paquets envoyés après le silence de l'autre côté).", "واصل جهازك إرسال صوت المكالمة مدة {silence_s} ولم يعد أي شيء ({sent} حزمة أُرسلت بعد صمت الطرف الآخر)."],
    "finding.udp_media_blocked.never" => ["Your device sent call audio for {span_s} ({sent} packets), and nothing ever came back.", "Votre appareil a envoyé le son de l'appel pendant {span_s} ({sent} paquets), et rien n'est jamais revenu.", "أرسل جهازك صوت المكالمة مدة {span_s} ({sent} حزمة) ولم يعد أي شيء أبدًا."],
    "finding.udp_blocked_tcp_fallback" => ["The call's direct route was blocked ({sent} packets to {servers} servers unanswered); it fell back to a slower relay over TCP via {tcp_server}.", "La voie directe de l'appel était bloquée ({sent} paquets vers {servers} serveurs sans réponse) ; il s'est rabattu sur un relais TCP plus lent via {tcp_server}.", "حُظر المسار المباشر للمكالمة ({sent} حزمة إلى {servers} خوادم بلا ردّ)؛ فلجأت إلى مُرحِّل أبطأ عبر TCP من خلال {tcp_server}."],
    "finding.stun_unanswered" => ["Your device tried {sends} times over {span_s} to reach the call server, and never got an answer.", "Votre appareil a essayé {sends} fois en {span_s} de joindre le serveur d'appel, sans jamais recevoir de réponse.", "حاول جهازك {sends} مرة خلال {span_s} الوصول إلى خادم المكالمات، ولم يتلقّ أي ردّ."],
    "finding.udp_one_way" => ["Traffic went out for {span_s} ({sent} packets) and nothing came back.", "Le trafic est parti pendant {span_s} ({sent} paquets) et rien n'est revenu.", "خرجت الحركة مدة {span_s} ({sent} حزمة) ولم يعد شيء."],
    "finding.rtp_cut" => ["The call's sound stopped in one direction and stayed silent for {silence_s}, while the other direction went on.", "Le son de l'appel s'est arrêté dans un sens et est resté muet pendant {silence_s}, alors que l'autre sens continuait.", "توقّف صوت المكالمة في اتجاه واحد وبقي صامتًا مدة {silence_s}، بينما استمر الاتجاه الآخر."],
    "finding.dns_injection" => ["The address lookup for {name} got a forged answer besides the real one.", "La recherche d'adresse de {name} a reçu une réponse falsifiée en plus de la vraie.", "تلقّى البحث عن عنوان {name} ردًّا مزوّرًا إلى جانب الردّ الحقيقي."],
    "finding.dns_bogon" => ["The address lookup for {name} was answered with an address that cannot be the real one ({bogons}).", "La recherche d'adresse de {name} a reçu une adresse qui ne peut pas être la vraie ({bogons}).", "أُجيب البحث عن عنوان {name} بعنوان لا يمكن أن يكون الحقيقي ({bogons})."],
    "finding.dns_nxdomain" => ["The address lookup for {name} was told the name does not exist.", "La recherche d'adresse de {name} a répondu que le nom n'existe pas.", "أُجيب البحث عن عنوان {name} بأن الاسم غير موجود."],
    "finding.http_block_page" => ["The answer to the request for {name} was not sent by the server: a block page was put in its place.", "La réponse à la demande de {name} n'a pas été envoyée par le serveur : une page de blocage a été mise à sa place.", "لم يرسل الخادم الردّ على طلب {name}: وُضعت صفحة حجب مكانه."],
    "finding.http_block_page.status" => ["The answer to the request for {name} was not sent by the server: a block page ({status_line}) was put in its place.", "La réponse à la demande de {name} n'a pas été envoyée par le serveur : une page de blocage ({status_line}) a été mise à sa place.", "لم يرسل الخادم الردّ على طلب {name}: وُضعت صفحة حجب ({status_line}) مكانه."],
    "finding.http_block_page.tls_alert" => ["The secure connection to {name} was refused by an alert the server did not send.", "La connexion sécurisée vers {name} a été refusée par une alerte que le serveur n'a pas envoyée.", "رُفض الاتصال الآمن بـ {name} بتنبيه لم يرسله الخادم."],
    "finding.request_blackholed" => ["The connection to {name} opened, but the request then vanished: sent {retransmissions} more times over {span_s}, never answered.", "La connexion vers {name} s'est ouverte, puis la demande a disparu : renvoyée {retransmissions} fois en {span_s}, jamais de réponse.", "فُتح الاتصال بـ {name} ثم اختفى الطلب: أُعيد إرساله {retransmissions} مرات خلال {span_s} دون أي ردّ."],
    "finding.blocking_hop" => ["Requests for {name} sent with a limited TTL were answered by an injector from TTL {ttl} on: it sits just beyond the router {hop}.", "Les demandes de {name} envoyées avec un TTL limité ont reçu la réponse d'un injecteur à partir du TTL {ttl} : il se trouve juste après le routeur {hop}.", "أُجيبت طلبات {name} المُرسَلة بـ TTL محدود من جهاز حقن ابتداءً من TTL {ttl}: إنه يقع بعد الموجّه {hop} مباشرة."],
    "finding.blocking_hop.silence" => ["Requests for {name} sent with a limited TTL got no answer at all from TTL {ttl} on: they are dropped just beyond the router {hop}.", "Les demandes de {name} envoyées avec un TTL limité n'ont plus reçu aucune réponse à partir du TTL {ttl} : elles sont supprimées juste après le routeur {hop}.", "لم تتلقَّ طلبات {name} المُرسَلة بـ TTL محدود أي ردّ ابتداءً من TTL {ttl}: إنها تُسقَط بعد الموجّه {hop} مباشرة."],
    "finding.tcp_synack_injected" => ["Connection {flow} was answered by a forged acceptance that the server did not send.", "La connexion {flow} a reçu une acceptation falsifiée que le serveur n'a pas envoyée.", "تلقّى الاتصال {flow} قبولًا مزوّرًا لم يرسله الخادم."],
    "finding.throttling_policer" => ["Traffic was held to about {rate_bps} by a policer: packets beyond that rate were dropped.", "Le trafic était limité à environ {rate_bps} par un limiteur : les paquets au-delà de ce débit étaient supprimés.", "قُيّدت الحركة بنحو {rate_bps} بواسطة محدِّد: أُسقطت الحزم التي تتجاوز هذا المعدل."],
    "finding.throttling_shaper" => ["Traffic was slowed to about {rate_bps} by a shaper that queues it ({ratio}× slower than before).", "Le trafic était ralenti à environ {rate_bps} par une mise en file d'attente ({ratio}× plus lent qu'avant).", "أُبطئت الحركة إلى نحو {rate_bps} بواسطة طابور انتظار ({ratio} مرة أبطأ من قبل)."],
    "finding.rtp_degraded" => ["Call quality was poor in one direction: {loss_pct} of packets lost, jitter {jitter_ms}.", "La qualité de l'appel était mauvaise dans un sens : {loss_pct} de paquets perdus, gigue de {jitter_ms}.", "كانت جودة المكالمة رديئة في اتجاه واحد: فُقد {loss_pct} من الحزم، وتذبذب التأخير {jitter_ms}."],
    // ---- what else could explain it ----
    "caveat.tcp_reset_injected" => ["A middlebox of your own (firewall, antivirus, VPN) can also send such resets.", "Un équipement à vous (pare-feu, antivirus, VPN) peut aussi envoyer de telles réinitialisations.", "قد يرسل جهاز لديك (جدار حماية، مضاد فيروسات، VPN) مثل هذه الإشارات أيضًا."],
    "caveat.tcp_reset_suspicious" => ["Servers and load balancers reset connections for ordinary reasons too.", "Les serveurs et répartiteurs de charge réinitialisent aussi des connexions pour des raisons ordinaires.", "تعيد الخوادم وموازنات الحمل تعيين الاتصالات لأسباب عادية أيضًا."],
    "caveat.handshake_timeout" => ["The server may simply be down; it counts as blocking when it answered elsewhere.", "Le serveur est peut-être simplement en panne ; c'est un blocage s'il a répondu ailleurs.", "ربما يكون الخادم معطّلًا فحسب؛ يُعدّ حظرًا إذا ردّ في مكان آخر."],
    "caveat.handshake_rejected" => ["A closed port is refused the same way.", "Un port fermé est refusé de la même façon.", "يُرفض المنفذ المغلق بالطريقة نفسها."],
    "caveat.tls_sni_reset" => ["A local filter (parental control, antivirus) can cut connections by name too.", "Un filtre local (contrôle parental, antivirus) peut aussi couper des connexions selon le nom.", "قد يقطع مرشّح محلي (رقابة أبوية، مضاد فيروسات) الاتصالات حسب الاسم أيضًا."],
    "caveat.tls_sni_drop" => ["A server overloaded at that moment looks similar; a working control connection makes it clear.", "Un serveur surchargé à ce moment-là ressemble à cela ; une connexion témoin qui fonctionne lève le doute.", "الخادم المثقل في تلك اللحظة يبدو مشابهًا؛ اتصال مرجعي ناجح يزيل الشك."],
    "caveat.quic_blocked" => ["Some networks block QUIC for all sites; apps then fall back to TCP.", "Certains réseaux bloquent QUIC pour tous les sites ; les applications reviennent alors à TCP.", "تحظر بعض الشبكات QUIC لكل المواقع؛ فتعود التطبيقات إلى TCP."],
    "caveat.udp_media_blocked" => ["The other person hanging up, or a dead network, can also silence one direction.", "L'autre personne qui raccroche, ou un réseau en panne, peut aussi rendre un sens muet.", "قد يؤدي إنهاء الطرف الآخر للمكالمة أو انقطاع الشبكة إلى صمت اتجاه واحد أيضًا."],
    "caveat.udp_blocked_tcp_fallback" => ["Some office and hotel networks block UDP for everything.", "Certains réseaux d'entreprise ou d'hôtel bloquent UDP pour tout.", "تحظر بعض شبكات الشركات والفنادق UDP لكل شيء."],
    "caveat.stun_unanswered" => ["A relay that is down looks the same; other relays answering makes it blocking.", "Un relais en panne ressemble à cela ; si d'autres relais répondent, c'est un blocage.", "المُرحِّل المعطّل يبدو مشابهًا؛ ردّ مُرحِّلات أخرى يجعله حظرًا."],
    "caveat.udp_one_way" => ["A capture that missed the answers looks the same.", "Une capture qui a manqué les réponses ressemble à cela.", "التسجيل الذي فاتته الردود يبدو مشابهًا."],
    "caveat.rtp_cut" => ["A muted microphone or a hold can stop one direction too.", "Un micro coupé ou une mise en attente peut aussi arrêter un sens.", "قد يوقف كتم الميكروفون أو الانتظار اتجاهًا واحدًا أيضًا."],
    "caveat.dns_injection" => ["Some resolvers of your own (ad blockers) answer first too.", "Certains résolveurs à vous (bloqueurs de publicité) répondent aussi en premier.", "بعض المحلّلات لديك (مانعات الإعلانات) تردّ أولًا أيضًا."],
    "caveat.dns_bogon" => ["On a private network, private answers are normal.", "Sur un réseau privé, les réponses privées sont normales.", "في شبكة خاصة، الردود الخاصة أمر طبيعي."],
    "caveat.dns_nxdomain" => ["A mistyped or retired name gets the same answer.", "Un nom mal saisi ou abandonné reçoit la même réponse.", "الاسم المكتوب خطأً أو المهجور يتلقّى الردّ نفسه."],
    "caveat.http_block_page" => ["A proxy or filter of your own (company, school, parental control) can answer in the server's place too.", "Un proxy ou un filtre à vous (entreprise, école, contrôle parental) peut aussi répondre à la place du serveur.", "قد يردّ وكيل أو مرشّح لديك (شركة، مدرسة، رقابة أبوية) مكان الخادم أيضًا."],
    "caveat.request_blackholed" => ["A server that hangs on that request looks the same; another connection answered in the same capture makes it blocking.", "Un serveur qui se bloque sur cette demande ressemble à cela ; une autre connexion qui a reçu une réponse dans la même capture en fait un blocage.", "الخادم الذي يتعطّل عند هذا الطلب يبدو مشابهًا؛ ردٌّ على اتصال آخر في التسجيل نفسه يجعله حظرًا."],
    "caveat.blocking_hop" => ["Load-balanced paths change the hops from one probe to the next, and routers that send no time exceeded hide where the answers stop.", "Les chemins répartis changent les sauts d'une sonde à l'autre, et les routeurs qui n'envoient pas de « temps dépassé » cachent où les réponses s'arrêtent.", "المسارات الموزَّعة تغيّر القفزات من مسبار إلى آخر، والموجّهات التي لا ترسل «تجاوز الوقت» تُخفي أين تتوقف الردود."],
    "caveat.tcp_synack_injected" => ["SYN proxies and load balancers can answer a connection twice too.", "Les proxys SYN et les répartiteurs de charge peuvent aussi répondre deux fois à une connexion.", "قد تردّ وكلاء SYN وموازنات الحمل على الاتصال مرتين أيضًا."],
    "caveat.throttling_policer" => ["A plan with a data cap, or a shared link, can also limit the rate; a comparison flow in the same capture tells them apart.", "Un forfait plafonné ou un lien partagé peut aussi limiter le débit ; un flux témoin dans la même capture permet de distinguer.", "قد تحدّ باقة محدودة أو وصلة مشتركة من المعدل أيضًا؛ تدفّق مرجعي في التسجيل نفسه يميّز بينهما."],
    "caveat.throttling_shaper" => ["A congested link queues traffic the same way; a comparison flow in the same capture tells them apart.", "Un lien saturé met le trafic en file d'attente de la même façon ; un flux témoin dans la même capture permet de distinguer.", "الوصلة المزدحمة تضع الحركة في طابور بالطريقة نفسها؛ تدفّق مرجعي في التسجيل نفسه يميّز بينهما."],
    "caveat.rtp_degraded" => ["Weak Wi-Fi or mobile signal degrades calls too.", "Un Wi-Fi ou un signal mobile faible dégrade aussi les appels.", "ضعف الواي فاي أو إشارة الجوال يُضعف المكالمات أيضًا."],
    // ---- capture errors (capture.error_message): what the file is, and what to do ----
    "error.empty" => ["The file is empty (0 bytes): there is nothing to analyse. Record again and keep the file the capture app saved.", "Le fichier est vide (0 octet) : il n'y a rien à analyser. Refaites l'enregistrement et gardez le fichier produit par l'application de capture.", "الملف فارغ (0 بايت): لا يوجد ما يُحلَّل. أعد التسجيل واحتفظ بالملف الذي حفظه تطبيق الالتقاط."],
    "error.not_a_capture" => ["This file is not a packet capture (pcap or pcapng); its first bytes are {first_bytes}. Choose the .pcap or .pcapng file your capture app saved.", "Ce fichier n'est pas une capture de paquets (pcap ou pcapng) ; ses premiers octets sont {first_bytes}. Choisissez le fichier .pcap ou .pcapng enregistré par votre application de capture.", "هذا الملف ليس تسجيلًا للحزم (pcap أو pcapng)؛ أول بايتاته {first_bytes}. اختر ملف ‎.pcap أو ‎.pcapng الذي حفظه تطبيق الالتقاط."],
    "error.not_a_capture.text" => ["This is a text file, not a packet capture. Choose the .pcap or .pcapng file your capture app saved (a capture is binary, not text).", "C'est un fichier texte, pas une capture de paquets. Choisissez le fichier .pcap ou .pcapng enregistré par votre application de capture (une capture est binaire, pas du texte).", "هذا ملف نصّي وليس تسجيلًا للحزم. اختر ملف ‎.pcap أو ‎.pcapng الذي حفظه تطبيق الالتقاط (التسجيل ملف ثنائي وليس نصًّا)."],
    "error.not_a_capture.compressed" => ["This {format}-compressed file does not hold a packet capture (its content starts with {first_bytes}).", "Ce fichier compressé en {format} ne contient pas de capture de paquets (son contenu commence par {first_bytes}).", "هذا الملف المضغوط بصيغة {format} لا يحتوي تسجيلًا للحزم (يبدأ محتواه بـ {first_bytes})."],
    "error.compressed_unsupported" => ["This is a {format}-compressed file: unpack it first ({command}), then open the capture inside. voipwatch reads pcap and pcapng, plain or compressed with gzip or zstd.", "C'est un fichier compressé en {format} : décompressez-le d'abord ({command}), puis ouvrez la capture qu'il contient. voipwatch lit pcap et pcapng, bruts ou compressés en gzip ou zstd.", "هذا ملف مضغوط بصيغة {format}: فُكّ ضغطه أولًا ({command})، ثم افتح التسجيل الذي بداخله. يقرأ voipwatch ملفات pcap وpcapng، عادية أو مضغوطة بـ gzip أو zstd."],
    "error.truncated" => ["The file stops in the middle of a packet (at byte {offset}): it was probably cut while being copied or recorded. Everything before that point was analysed.", "Le fichier s'arrête au milieu d'un paquet (à l'octet {offset}) : il a probablement été coupé pendant la copie ou l'enregistrement. Tout ce qui précède a été analysé.", "ينتهي الملف في منتصف حزمة (عند البايت {offset}): ربما قُطع أثناء النسخ أو التسجيل. حُلّل كل ما قبل تلك النقطة."],
    "error.damaged" => ["The file is damaged at byte {offset}: reading stopped there, and everything before it was analysed.", "Le fichier est endommagé à l'octet {offset} : la lecture s'est arrêtée là, et tout ce qui précède a été analysé.", "الملف تالف عند البايت {offset}: توقفت القراءة هناك، وحُلّل كل ما قبله."],
    "error.unsupported" => ["The file uses a variant of the capture format this tool cannot read (at byte {offset}); everything before it was analysed. Converting it with Wireshark (`editcap -F pcapng IN OUT`) usually helps.", "Le fichier utilise une variante du format de capture que cet outil ne sait pas lire (à l'octet {offset}) ; tout ce qui précède a été analysé. Le convertir avec Wireshark (`editcap -F pcapng IN OUT`) aide en général.", "يستخدم الملف صيغة فرعية من تنسيق التسجيل لا تستطيع هذه الأداة قراءتها (عند البايت {offset})؛ حُلّل كل ما قبلها. يفيد عادةً تحويله بـ Wireshark ‏(`editcap -F pcapng IN OUT`)."],
    "error.file.jpeg" => ["This is a JPEG photo, not a packet capture. Choose the .pcap or .pcapng file your capture app saved.", "C'est une photo JPEG, pas une capture de paquets. Choisissez le fichier .pcap ou .pcapng enregistré par votre application de capture.", "هذه صورة JPEG وليست تسجيلًا للحزم. اختر ملف ‎.pcap أو ‎.pcapng الذي حفظه تطبيق الالتقاط."],
    "error.file.png" => ["This is a PNG image (a screenshot?), not a packet capture. Choose the .pcap or .pcapng file your capture app saved.", "C'est une image PNG (une capture d'écran ?), pas une capture de paquets. Choisissez le fichier .pcap ou .pcapng enregistré par votre application de capture.", "هذه صورة PNG (لقطة شاشة؟) وليست تسجيلًا للحزم. اختر ملف ‎.pcap أو ‎.pcapng الذي حفظه تطبيق الالتقاط."],
    "error.file.gif" => ["This is a GIF image, not a packet capture.", "C'est une image GIF, pas une capture de paquets.", "هذه صورة GIF وليست تسجيلًا للحزم."],
    "error.file.pdf" => ["This is a PDF document, not a packet capture.", "C'est un document PDF, pas une capture de paquets.", "هذا مستند PDF وليس تسجيلًا للحزم."],
    "error.file.riff" => ["This is a media file (WAV, AVI or WebP), not a packet capture.", "C'est un fichier multimédia (WAV, AVI ou WebP), pas une capture de paquets.", "هذا ملف وسائط (WAV أو AVI أو WebP) وليس تسجيلًا للحزم."],
    "error.file.ogg" => ["This is an Ogg audio file (a voice message?), not a packet capture.", "C'est un fichier audio Ogg (un message vocal ?), pas une capture de paquets.", "هذا ملف صوتي Ogg (رسالة صوتية؟) وليس تسجيلًا للحزم."],
    "error.file.mp3" => ["This is an MP3 audio file, not a packet capture.", "C'est un fichier audio MP3, pas une capture de paquets.", "هذا ملف صوتي MP3 وليس تسجيلًا للحزم."],
    "error.file.matroska" => ["This is a video (Matroska/WebM, a screen recording?), not a packet capture.", "C'est une vidéo (Matroska/WebM, un enregistrement d'écran ?), pas une capture de paquets.", "هذا فيديو (Matroska/WebM، تسجيل شاشة؟) وليس تسجيلًا للحزم."],
    "error.file.elf" => ["This is a program (ELF), not a packet capture.", "C'est un programme (ELF), pas une capture de paquets.", "هذا برنامج (ELF) وليس تسجيلًا للحزم."],
    "error.file.exe" => ["This is a Windows program, not a packet capture.", "C'est un programme Windows, pas une capture de paquets.", "هذا برنامج Windows وليس تسجيلًا للحزم."],
    "error.file.sqlite" => ["This is an SQLite database, not a packet capture.", "C'est une base de données SQLite, pas une capture de paquets.", "هذه قاعدة بيانات SQLite وليست تسجيلًا للحزم."],
    "error.file.snoop" => ["This is a Solaris snoop capture: convert it to pcapng with Wireshark (`editcap -F pcapng IN OUT`) and try again.", "C'est une capture Solaris snoop : convertissez-la en pcapng avec Wireshark (`editcap -F pcapng IN OUT`) et réessayez.", "هذا تسجيل Solaris snoop: حوّله إلى pcapng بـ Wireshark ‏(`editcap -F pcapng IN OUT`) ثم أعد المحاولة."],
    "error.file.netmon" => ["This is a Microsoft Network Monitor capture: convert it to pcapng with Wireshark (`editcap -F pcapng IN OUT`) and try again.", "C'est une capture Microsoft Network Monitor : convertissez-la en pcapng avec Wireshark (`editcap -F pcapng IN OUT`) et réessayez.", "هذا تسجيل Microsoft Network Monitor: حوّله إلى pcapng بـ Wireshark ‏(`editcap -F pcapng IN OUT`) ثم أعد المحاولة."],
    "error.file.netxray" => ["This is a NetXray/Sniffer capture: convert it to pcapng with Wireshark (`editcap -F pcapng IN OUT`) and try again.", "C'est une capture NetXray/Sniffer : convertissez-la en pcapng avec Wireshark (`editcap -F pcapng IN OUT`) et réessayez.", "هذا تسجيل NetXray/Sniffer: حوّله إلى pcapng بـ Wireshark ‏(`editcap -F pcapng IN OUT`) ثم أعد المحاولة."],
    // ---- the CLI's text report (`voipwatch analyze --lang`): headings and notes ----
    "cli.packet" => ["packet", "paquet", "حزمة"],
    "cli.packets" => ["packets", "paquets", "حزمة"],
    "cli.flow" => ["flow", "flux", "تدفق"],
    "cli.flows" => ["flows", "flux", "تدفقات"],
    "cli.span" => ["{dur} from {start}", "{dur} à partir du {start}", "{dur} ابتداءً من {start}"],
    "cli.see_findings" => ["see findings", "voir les constats", "انظر النتائج"],
    "cli.unknown_format" => ["unknown format", "format inconnu", "تنسيق غير معروف"],
    "cli.incomplete" => ["INCOMPLETE: reading stopped {error} — the results below cover only the packets before that point.", "INCOMPLET : la lecture s'est arrêtée ({error}) — les résultats ci-dessous ne portent que sur les paquets lus avant ce point.", "غير مكتمل: توقفت القراءة ({error}) — النتائج أدناه تخص الحزم المقروءة قبل تلك النقطة فقط."],
    "cli.calls.one" => ["{n} call found: {list}", "{n} appel trouvé : {list}", "عُثر على {n} مكالمة: {list}"],
    "cli.calls.many" => ["{n} calls found: {list}", "{n} appels trouvés : {list}", "عُثر على {n} مكالمات: {list}"],
    "cli.mos_dirs" => ["MOS {in} received, {out} sent", "MOS {in} reçu, {out} envoyé", "MOS {in} مستقبَل، {out} مرسَل"],
    "cli.finding_flow" => ["flow {id}", "flux {id}", "التدفق {id}"],
    "cli.finding_capture" => ["capture", "capture", "التسجيل"],
    "cli.confidence" => ["confidence", "confiance", "الثقة"],
    "cli.frames" => ["frames", "trames", "الإطارات"],
    "cli.wireshark_filter" => ["Wireshark filter", "Filtre Wireshark", "مرشّح Wireshark"],
    "cli.decoding_notes" => ["Decoding notes: {list}", "Notes de décodage : {list}", "ملاحظات فك الترميز: {list}"],
    "cli.checksum_note" => ["Bad checksums usually mean checksum offload on the capturing machine (the network card fills them in after the capture saw the packet), not damage on the network.", "Des sommes de contrôle fausses signifient en général que la machine qui capturait déléguait leur calcul à sa carte réseau (elle les remplit après que la capture a vu le paquet), pas un dommage sur le réseau.", "تعني المجاميع الاختبارية الخاطئة عادةً أن جهاز الالتقاط يترك حسابها لبطاقة الشبكة (تملؤها بعد أن يرى الالتقاط الحزمة)، لا تلفًا على الشبكة."],
    "cli.flow_cap" => ["Flow cap reached: {n} packets of further flows were counted but not tracked.", "Plafond de flux atteint : {n} paquets de flux supplémentaires ont été comptés mais pas suivis.", "بُلغ حد التدفقات: عُدّت {n} حزمة من تدفقات إضافية دون تتبّعها."],
    "cli.flows_heading" => ["Flows ({shown} {which} of {total}; --flows all|voip|problems):", "Flux ({shown} {which} sur {total} ; --flows all|voip|problems) :", "التدفقات ({shown} {which} من {total}؛ ‎--flows all|voip|problems):"],
    "cli.which.all" => ["all", "en tout", "الكل"],
    "cli.which.voip" => ["VoIP", "VoIP", "VoIP"],
    "cli.which.problem" => ["problem", "à problème", "إشكالية"],
    "cli.which.voip_problem" => ["VoIP and problem", "VoIP et à problème", "VoIP وإشكالية"],
    // ---- the facts that carry a finding (shown under the answer) ----
    "fact.rst_ttl" => ["The reset arrived with TTL {rst_ttl}, where the server's own packets arrive with {server_ttl}.", "La réinitialisation est arrivée avec un TTL de {rst_ttl}, alors que les paquets du serveur arrivent avec {server_ttl}.", "وصلت إشارة إعادة التعيين بقيمة TTL {rst_ttl}، بينما تصل حزم الخادم بقيمة {server_ttl}."],
    "fact.rst_fast" => ["It came {rst_ms} after the request, faster than the server can answer (its round trip is {rtt_ms}).", "Elle est arrivée {rst_ms} après la demande, plus vite que le serveur ne peut répondre (son aller-retour est de {rtt_ms}).", "وصلت بعد {rst_ms} من الطلب، أسرع مما يستطيع الخادم الردّ (زمن ذهابه وإيابه {rtt_ms})."],
    "fact.rst_race" => ["The real server went on sending after the reset, so it did not send it.", "Le vrai serveur a continué d'envoyer après la réinitialisation : ce n'est donc pas lui qui l'a envoyée.", "واصل الخادم الحقيقي الإرسال بعد إشارة إعادة التعيين، فليس هو من أرسلها."],
    "fact.sent_unanswered" => ["{sent} packets went out after the other side's last packet, over {silence_s}.", "{sent} paquets sont partis après le dernier paquet de l'autre côté, en {silence_s}.", "خرجت {sent} حزمة بعد آخر حزمة من الطرف الآخر، خلال {silence_s}."],
    "fact.stun_also" => ["{flows} connection checks to the call servers got no answer either.", "{flows} vérifications de connexion vers les serveurs d'appel n'ont pas non plus reçu de réponse.", "لم تتلقَّ {flows} عمليات تحقق من الاتصال بخوادم المكالمات أي ردّ أيضًا."],
    "fact.rtp_cut_other" => ["The other direction carried {packets} more packets after the sound stopped.", "L'autre sens a transporté {packets} paquets de plus après l'arrêt du son.", "حمل الاتجاه الآخر {packets} حزمة إضافية بعد توقّف الصوت."],
    "fact.selective" => ["The capture's other traffic ran at {control_bps} while this flow got {target_bps}: only it was slowed.", "Le reste du trafic de la capture passait à {control_bps} quand ce flux obtenait {target_bps} : lui seul était ralenti.", "كانت بقية حركة التسجيل تجري بمعدل {control_bps} بينما حصل هذا التدفق على {target_bps}: أُبطئ وحده."],
    "fact.whole_link" => ["The capture's other traffic was as slow ({control_bps}): a slow link, not proof that this flow was singled out.", "Le reste du trafic de la capture était aussi lent ({control_bps}) : un lien lent, pas la preuve que ce flux était visé.", "كانت بقية حركة التسجيل بالبطء نفسه ({control_bps}): وصلة بطيئة، لا دليل على استهداف هذا التدفق."],
    "fact.policer_losses" => ["{losses} packets were dropped whenever the rate went above it, in {slices} separate bursts.", "{losses} paquets ont été supprimés dès que le débit le dépassait, en {slices} rafales distinctes.", "أُسقطت {losses} حزمة كلما تجاوز المعدل ذلك، في {slices} دفعات منفصلة."],
    "fact.syns" => ["{syns} connection attempts over {span_s}, none answered.", "{syns} tentatives de connexion en {span_s}, aucune n'a reçu de réponse.", "{syns} محاولات اتصال خلال {span_s}، لم يُردّ على أيٍّ منها."],
    // ---- limits that cut evidence (capture.limits): what the cut means ----
    "limit.memory" => ["Memory for more flows could not be reserved: {packets} packets of later flows were not analysed, so no verdict can say ok.", "La mémoire pour d'autres flux n'a pas pu être réservée : {packets} paquets de flux ultérieurs n'ont pas été analysés, aucun verdict ne peut donc dire ok.", "تعذّر حجز ذاكرة لمزيد من التدفقات: لم تُحلَّل {packets} حزمة من تدفقات لاحقة، فلا يمكن لأي حكم أن يقول سليم."],
    "limit.flows" => ["{packets} packets of flows past the flow cap were not analysed, so no verdict can say ok.", "{packets} paquets de flux au-delà du plafond de flux n'ont pas été analysés, aucun verdict ne peut donc dire ok.", "لم تُحلَّل {packets} حزمة من تدفقات تجاوزت حدّ التدفقات، فلا يمكن لأي حكم أن يقول سليم."],
    "limit.packets_per_flow" => ["The packet log of {flows} flows kept only their first and last packets: counts, last packets and silences still come from every packet, but throttling and TCP analysis saw only the unbroken start.", "Le journal des paquets de {flows} flux n'a gardé que leurs premiers et derniers paquets : les comptes, derniers paquets et silences viennent toujours de tous les paquets, mais l'analyse du ralentissement et de TCP n'a vu que le début continu.", "احتفظ سجل الحزم لـ {flows} تدفقات بأولى حزمها وآخرها فقط: ما زالت الأعداد وآخر الحزم وفترات الصمت محسوبة من كل الحزم، لكن تحليل الإبطاء وTCP لم يرَ إلا البداية المتصلة."],
    "limit.packets_total" => ["The capture-wide packet log budget ran out ({flows} flows cut): counts, last packets and silences still come from every packet, but throttling and TCP analysis saw only the unbroken start.", "Le budget global du journal des paquets a été épuisé ({flows} flux coupés) : les comptes, derniers paquets et silences viennent toujours de tous les paquets, mais l'analyse du ralentissement et de TCP n'a vu que le début continu.", "نفدت ميزانية سجل الحزم للتسجيل كله ({flows} تدفقات مقطوعة): ما زالت الأعداد وآخر الحزم وفترات الصمت محسوبة من كل الحزم، لكن تحليل الإبطاء وTCP لم يرَ إلا البداية المتصلة."],
    "limit.rate_bins_per_flow" => ["The rate series of {flows} flows stops at its longest span: later traffic is counted but not binned.", "La série de débit de {flows} flux s'arrête à sa durée maximale : le trafic suivant est compté mais pas réparti dans le temps.", "تتوقف سلسلة المعدل لـ {flows} تدفقات عند أطول مدة لها: تُعدّ الحركة اللاحقة دون توزيعها زمنيًا."],
    "limit.rate_bins_total" => ["The capture-wide rate-bin budget ran out ({flows} flows cut): later traffic is counted but not binned.", "Le budget global des intervalles de débit a été épuisé ({flows} flux coupés) : le trafic suivant est compté mais pas réparti dans le temps.", "نفدت ميزانية فترات المعدل للتسجيل كله ({flows} تدفقات مقطوعة): تُعدّ الحركة اللاحقة دون توزيعها زمنيًا."],
    "limit.rtt_samples_per_flow" => ["Later round-trip-time samples of {flows} flows were dropped: RTT facts come from the first ones.", "Les mesures de temps aller-retour suivantes de {flows} flux ont été écartées : les faits de RTT viennent des premières.", "أُسقطت قياسات زمن الذهاب والإياب اللاحقة لـ {flows} تدفقات: وقائع RTT مأخوذة من القياسات الأولى."],
    "limit.rtt_samples_total" => ["The capture-wide round-trip-time sample budget ran out ({flows} flows cut): RTT facts come from the first samples.", "Le budget global des mesures de temps aller-retour a été épuisé ({flows} flux coupés) : les faits de RTT viennent des premières mesures.", "نفدت ميزانية قياسات زمن الذهاب والإياب للتسجيل كله ({flows} تدفقات مقطوعة): وقائع RTT مأخوذة من القياسات الأولى."],
    "limit.icmp_errors_per_flow" => ["Later ICMP errors quoting {flows} flows were counted as flows but not attached to them.", "Les erreurs ICMP suivantes citant {flows} flux ont été comptées comme flux mais pas rattachées à eux.", "عُدّت أخطاء ICMP اللاحقة التي تقتبس {flows} تدفقات كتدفقات دون ربطها بها."],
    "limit.work_budget" => ["The per-capture work budget ran out: some analyses were skipped on {flows} flows, so their verdicts cannot say ok.", "Le budget de travail de la capture a été épuisé : certaines analyses ont été sautées sur {flows} flux, leurs verdicts ne peuvent donc pas dire ok.", "نفدت ميزانية العمل للتسجيل: تُخطّيت بعض التحليلات على {flows} تدفقات، فلا يمكن لأحكامها أن تقول سليم."],
    // ---- the CLI's flows table: column headers ----
    "cli.col.id" => ["ID", "ID", "المعرّف"],
    "cli.col.l4" => ["L4", "L4", "النقل"],
    "cli.col.client" => ["CLIENT", "CLIENT", "العميل"],
    "cli.col.server" => ["SERVER", "SERVEUR", "الخادم"],
    "cli.col.packets" => ["PKTS →/←", "PAQ. →/←", "الحزم →/←"],
    "cli.col.bytes" => ["BYTES →/←", "OCTETS →/←", "البايتات →/←"],
    "cli.col.duration" => ["DUR", "DURÉE", "المدة"],
    "cli.col.state" => ["STATE", "ÉTAT", "الحالة"],
    "cli.col.history" => ["HISTORY", "HISTORIQUE", "السجل"],
    "cli.col.what" => ["WHAT", "CONTENU", "المحتوى"],
    "cli.call" => ["call", "appel", "مكالمة"],
    "cli.limit" => ["LIMIT", "LIMITE", "حدّ"],
    // ---- words used by renderers ----
    "app.other" => ["Other traffic", "Autre trafic", "حركة أخرى"],
    "app.capture" => ["The capture", "La capture", "الالتقاط"],
    "severity.info" => ["info", "info", "معلومة"],
    "severity.degraded" => ["degraded", "dégradé", "متدهور"],
    "severity.throttled" => ["throttled", "ralenti", "مُبطَّأ"],
    "severity.blocked" => ["blocked", "bloqué", "محظور"],
    "status.ok" => ["ok", "ok", "سليم"],
    "status.blocked" => ["blocked", "bloqué", "محظور"],
    "status.throttled" => ["throttled", "ralenti", "مُبطَّأ"],
    "status.degraded" => ["degraded", "dégradé", "متدهور"],
    "status.inconclusive" => ["inconclusive", "incertain", "غير حاسم"],
    "label.verdicts" => ["Verdicts", "Verdicts", "الأحكام"],
    "label.findings" => ["Findings", "Constats", "النتائج"],
    "label.caveat" => ["What else could explain it", "Autre explication possible", "تفسير آخر محتمل"],
    "label.no_verdict" => ["No call app seen, and no blocking or throttling found.", "Aucune application d'appel vue, et aucun blocage ni ralentissement trouvé.", "لم يُرَ أي تطبيق مكالمات، ولم يُعثر على حظر أو إبطاء."],
}

/// The plain-language message of a capture error: what the file is when it is not a capture
/// (from its first bytes `head`, after decompression through `compression`), what to do, and
/// where reading stopped. `unsupported` is a compression format recognised but not read.
pub fn capture_error(
    e: &crate::capture::CaptureError,
    head: &[u8],
    compression: Option<&'static str>,
    unsupported: Option<(&'static str, &'static str)>,
) -> Message {
    use crate::capture::CaptureErrorKind as K;
    let hex = || {
        head.iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    match e.kind {
        K::Empty => Message::new("error.empty"),
        K::Unsupported if e.offset == 0 && unsupported.is_some() => {
            let (name, how) = unsupported.unwrap_or_default();
            Message::new("error.compressed_unsupported")
                .with("format", name)
                .with("command", how)
        }
        K::NotACapture => match (crate::capture::file_kind_id(head), compression) {
            (_, Some(c)) => Message::new("error.not_a_capture.compressed")
                .with("format", c)
                .with("first_bytes", hex()),
            (Some(id), None) => Message::new(file_message_id(id)),
            (None, None)
                if !head.is_empty()
                    && head
                        .iter()
                        .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace()) =>
            {
                Message::new("error.not_a_capture.text")
            }
            (None, None) => Message::new("error.not_a_capture").with("first_bytes", hex()),
        },
        K::Truncated => Message::new("error.truncated").with("offset", e.offset),
        K::BadLength | K::Malformed => Message::new("error.damaged").with("offset", e.offset),
        K::Unsupported => Message::new("error.unsupported").with("offset", e.offset),
    }
}

/// `error.file.<id>` as a static id (the table's own string).
fn file_message_id(id: &str) -> &'static str {
    TEMPLATES
        .iter()
        .find(|t| t.id.strip_prefix("error.file.") == Some(id))
        .map_or("error.not_a_capture", |t| t.id)
}

/// The template of `id`, if the table has it.
pub fn template(id: &str) -> Option<&'static Template> {
    TEMPLATES.iter().find(|t| t.id == id)
}

fn fmt_num(x: f64, decimals: usize, lang: Lang) -> String {
    let s = format!("{x:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    match lang {
        Lang::Fr => s.replace('.', ","),
        _ => s,
    }
}

fn with_unit(n: String, unit_en: &str, unit_fr: &str, unit_ar: &str, lang: Lang) -> String {
    match lang {
        Lang::En => format!("{n} {unit_en}"),
        // A no-break space keeps number and unit together, as French typography wants.
        Lang::Fr => format!("{n}\u{a0}{unit_fr}"),
        Lang::Ar => format!("{n} {unit_ar}"),
    }
}

fn rate(bps: f64, lang: Lang) -> String {
    let (v, en, fr, ar) = if bps >= 1e6 {
        (bps / 1e6, "Mbit/s", "Mbit/s", "ميغابت/ث")
    } else if bps >= 1e3 {
        (bps / 1e3, "kbit/s", "kbit/s", "كيلوبت/ث")
    } else {
        (bps, "bit/s", "bit/s", "بت/ث")
    };
    with_unit(fmt_num(v, 1, lang), en, fr, ar, lang)
}

fn param_text(name: &str, p: &Param, lang: Lang) -> String {
    let num = match p {
        Param::Int(n) => *n as f64,
        Param::Num(x) => *x,
        Param::Text(s) => {
            if name == "app" {
                return if s == "other" || s == "capture" {
                    let id = if s == "other" {
                        "app.other"
                    } else {
                        "app.capture"
                    };
                    template(id).map_or_else(|| s.clone(), |t| t.text(lang).to_string())
                } else {
                    App::from_id(s).map_or_else(|| s.clone(), |a| a.name().to_string())
                };
            }
            return s.clone();
        }
    };
    if name.ends_with("_ms") {
        with_unit(fmt_num(num, 1, lang), "ms", "ms", "ملّي ثانية", lang)
    } else if name.ends_with("_s") {
        let d = if num < 10.0 { 1 } else { 0 };
        with_unit(fmt_num(num, d, lang), "s", "s", "ثانية", lang)
    } else if name.ends_with("_bps") {
        rate(num, lang)
    } else if name.ends_with("_pct") {
        match lang {
            Lang::Fr => format!("{}\u{a0}%", fmt_num(num, 1, lang)),
            _ => format!("{}%", fmt_num(num, 1, lang)),
        }
    } else if matches!(p, Param::Int(_)) {
        num.to_string().trim_end_matches(".0").to_string()
    } else {
        fmt_num(num, 2, lang)
    }
}

/// `msg` in `lang`; `None` when the table lacks its id. In Arabic, every parameter is isolated
/// (U+2066 … U+2069) so that an address or a number with its unit stays one readable run.
pub fn render(msg: &Message, lang: Lang) -> Option<String> {
    let t = template(msg.id)?.text(lang);
    let mut out = String::with_capacity(t.len() + 32);
    let mut rest = t;
    while let Some(open) = rest.find('{') {
        let (head, tail) = rest.split_at(open);
        out.push_str(head);
        let Some(close) = tail.find('}') else {
            out.push_str(tail);
            rest = "";
            break;
        };
        let name = tail.get(1..close).unwrap_or_default();
        match msg.params.get(name) {
            Some(p) => {
                let v = param_text(name, p, lang);
                if lang == Lang::Ar && name != "app" {
                    let _ = write!(out, "\u{2066}{v}\u{2069}");
                } else {
                    out.push_str(&v);
                }
            }
            None => out.push_str(tail.get(..=close).unwrap_or_default()),
        }
        rest = tail.get(close + 1..).unwrap_or_default();
    }
    out.push_str(rest);
    Some(out)
}

/// A fixed word or label (`status.blocked`, `label.findings`, …) in `lang`; `?` when the table
/// lacks it (a test checks every status and label the renderers use is there).
pub fn word(id: &str, lang: Lang) -> &'static str {
    template(id).map_or("?", |t| t.text(lang))
}

/// The "what else could explain it" sentence of a finding kind, in `lang`.
pub fn caveat(kind: FindingKind, lang: Lang) -> Option<&'static str> {
    TEMPLATES
        .iter()
        .find(|t| t.id.strip_prefix("caveat.") == Some(kind.as_str()))
        .map(|t| t.text(lang))
}

fn id_of(kind: FindingKind, variant: Option<&'static str>) -> &'static str {
    let base = kind.as_str();
    TEMPLATES
        .iter()
        .map(|t| t.id)
        .find(|id| match (id.strip_prefix("finding."), variant) {
            (Some(rest), Some(v)) => {
                rest.strip_prefix(base).and_then(|r| r.strip_prefix('.')) == Some(v)
            }
            (Some(rest), None) => rest == base,
            _ => false,
        })
        .unwrap_or("finding.unknown")
}

impl Finding {
    /// The finding as a message (id from its kind and evidence shape, parameters from its
    /// evidence); see the module docs.
    pub fn message(&self) -> Message {
        let k = self.kind;
        let flow = self.flow.unwrap_or_default();
        let m = |variant| Message::new(id_of(k, variant));
        match &self.evidence {
            Evidence::Rst(e) => match &e.sni {
                Some(sni) if k == FindingKind::TcpResetInjected => m(Some("sni"))
                    .with("sni", sni.as_str())
                    .with("tests", e.tests.len()),
                _ => m(None).with("flow", flow).with("tests", e.tests.len()),
            },
            Evidence::PenaltyBoxReset(e) => m(Some("penalty_box"))
                .with("flow", flow)
                .with("after_flow", e.penalty_box.after_flow)
                .with("after_s", e.penalty_box.after_s),
            Evidence::HandshakeTimeout(e) => match &e.sni {
                Some(sni) => m(Some("sni")).with("sni", sni.as_str()),
                None => m(None),
            }
            .with("syns", e.syns)
            .with("span_s", e.span_s),
            Evidence::HandshakeRst(e) => m(None).with("response_ms", e.response_ms),
            Evidence::HandshakeIcmp(e) => m(Some("icmp")).with("icmp_from", e.icmp_from.as_str()),
            Evidence::TlsSniReset(e) => m(None)
                .with("sni", e.sni.as_deref().unwrap_or("?"))
                .with("rst_delay_ms", e.rst_delay_ms),
            Evidence::TlsSniDrop(e) => m(None)
                .with("sni", e.sni.as_deref().unwrap_or("?"))
                .with("retransmissions", e.retransmissions)
                .with("span_s", e.span_s),
            Evidence::Quic(e) => m(None)
                .with("sni", e.sni.as_deref().unwrap_or("?"))
                .with("initials", e.initials)
                .with("span_s", e.span_s),
            Evidence::UdpMediaBlocked(e) => {
                if e.never_answered {
                    m(Some("never"))
                        .with("span_s", e.span_s)
                        .with("sent", e.packets_sent)
                } else {
                    m(None)
                        .with("silence_s", e.silence_s)
                        .with("sent", e.sent_after_silence)
                }
            }
            Evidence::CallTcpFallback(e) => m(None)
                .with("sent", e.udp_packets_sent)
                .with("servers", e.udp_servers)
                .with("tcp_server", e.tcp_server.as_str()),
            Evidence::IceTcpFallback(e) => m(None)
                .with("sent", e.udp_packets_sent)
                .with("servers", e.udp_servers)
                .with("tcp_server", e.tcp_server.as_str()),
            Evidence::StunUnanswered(e) => m(None).with("sends", e.sends).with("span_s", e.span_s),
            Evidence::UdpOneWay(e) => m(None)
                .with("span_s", e.span_s)
                .with("sent", e.packets_sent),
            Evidence::RtpCut(e) => m(None).with("silence_s", e.silence_s),
            Evidence::DnsInjection(e) => m(None).with("name", e.name.as_str()),
            Evidence::DnsNxdomain(e) => m(None).with("name", e.name.as_str()),
            Evidence::DnsBogon(e) => m(None)
                .with("name", e.name.as_str())
                .with("bogons", e.bogons.join(", ")),
            Evidence::HttpBlockPage(e) => {
                let name = e
                    .request_host
                    .as_deref()
                    .or(e.sni.as_deref())
                    .map_or_else(|| format!("#{flow}"), str::to_string);
                if e.tls_alert {
                    m(Some("tls_alert")).with("name", name)
                } else if let Some(sl) = &e.status_line {
                    m(Some("status"))
                        .with("name", name)
                        .with("status_line", sl.as_str())
                } else {
                    m(None).with("name", name)
                }
            }
            Evidence::RequestBlackholed(e) => m(None)
                .with(
                    "name",
                    e.trigger.clone().unwrap_or_else(|| format!("#{flow}")),
                )
                .with("retransmissions", e.retransmissions)
                .with("span_s", e.span_s),
            Evidence::BlockingHop(e) => m((e.onset == "silence").then_some("silence"))
                .with("name", e.trigger.as_str())
                .with("ttl", u32::from(e.first_blocked_ttl))
                .with(
                    "hop",
                    match (&e.last_hop_from, e.last_hop_ttl) {
                        (Some(a), _) => a.clone(),
                        (None, Some(t)) => format!("TTL {t}"),
                        _ => "—".to_string(),
                    },
                ),
            Evidence::SynackInjected(_) => m(None).with("flow", flow),
            Evidence::TcpPolicer(e) => m(None).with("rate_bps", e.rate_bps),
            Evidence::RtpPolicer(e) => m(None).with("rate_bps", e.rate_bps),
            Evidence::Shaper(e) => m(None)
                .with("rate_bps", e.rate_bps)
                .with("ratio", (e.ratio * 10.0).round() / 10.0),
            Evidence::RtpDegraded(e) => m(None)
                .with("loss_pct", (e.loss * 1000.0).round() / 10.0)
                .with("jitter_ms", e.jitter_ms),
        }
    }
}

/// Why a verdict without findings is inconclusive (or, for `NoCall`, why an app that worked
/// still cannot answer the question about calls).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Reason {
    /// No flow in the whole capture has packets both ways.
    OneDirectionCapture,
    /// The verdict's own flows have packets one way only.
    OneDirectionFlows { packets: u64 },
    /// Below the traffic a verdict needs.
    TooLittle { packets: u64, span_s: f64 },
    /// The app's traffic worked but it made no call.
    NoCall,
    /// No packets, no readable capture, or no IP flow (the `capture` verdict).
    NothingToJudge,
    /// Something went unanswered and nothing in the capture says whether the far end was up.
    Unanswered,
    /// Nothing wrong in what was analysed, but a limit cut the evidence (`capture.limits`).
    LimitsCut,
}

impl Reason {
    fn suffix(self) -> &'static str {
        match self {
            Reason::OneDirectionCapture => "one_direction_capture",
            Reason::OneDirectionFlows { .. } => "one_direction_flows",
            Reason::TooLittle { .. } => "too_little",
            Reason::NoCall => "no_call",
            Reason::NothingToJudge => "nothing_to_judge",
            Reason::Unanswered => "unanswered",
            Reason::LimitsCut => "limits_cut",
        }
    }
}

impl Verdict {
    /// The verdict's headline as a message: its status and service, the app, and the reason
    /// when it is inconclusive without findings. The findings it lists carry the detail.
    pub fn message(&self) -> Message {
        let id = match (self.status, self.reason) {
            (Status::Inconclusive, Some(r)) | (Status::Ok, Some(r @ Reason::NoCall)) => TEMPLATES
                .iter()
                .map(|t| t.id)
                .find(|id| id.strip_prefix("verdict.inconclusive.") == Some(r.suffix()))
                .unwrap_or("verdict.inconclusive"),
            (s, _) => {
                let call = self.service == Service::Call;
                TEMPLATES
                    .iter()
                    .map(|t| t.id)
                    .find(|id| {
                        id.strip_prefix("verdict.")
                            .and_then(|r| r.strip_prefix(s.as_str()))
                            == Some(if call { ".call" } else { "" })
                    })
                    .or_else(|| {
                        TEMPLATES
                            .iter()
                            .map(|t| t.id)
                            .find(|id| id.strip_prefix("verdict.") == Some(s.as_str()))
                    })
                    .unwrap_or("verdict.inconclusive")
            }
        };
        let m = Message::new(id).with("app", self.app.as_str());
        match (self.status, self.reason) {
            (Status::Inconclusive, Some(Reason::OneDirectionFlows { packets })) => {
                m.with("packets", packets)
            }
            (Status::Inconclusive, Some(Reason::TooLittle { packets, span_s })) => {
                m.with("packets", packets).with("span_s", span_s)
            }
            _ => m,
        }
    }
}

/// The index of the finding that carries verdict `v` in `findings`: its most severe, the
/// first on ties.
pub fn lead_finding(findings: &[Finding], v: &Verdict) -> Option<usize> {
    let mut best: Option<(usize, crate::model::Severity)> = None;
    for &i in &v.findings {
        if let Some(f) = findings.get(i) {
            if best.is_none_or(|(_, s)| f.severity > s) {
                best = Some((i, f.severity));
            }
        }
    }
    best.map(|(i, _)| i)
}

impl Finding {
    /// The two or three facts that carry the finding, as messages (see `fact.*`): shown under
    /// the answer, so a reader sees why, not only what. Empty for kinds without such facts.
    pub fn facts(&self) -> Vec<Message> {
        let mut out = Vec::new();
        match &self.evidence {
            Evidence::Rst(e) => {
                if e.basis == "conclusive" {
                    out.push(Message::new("fact.rst_race"));
                }
                if e.fingerprint_families.contains(&"ttl") {
                    if let (Some(r), Some(t)) = (e.rsts.first(), e.sender_ttl) {
                        out.push(
                            Message::new("fact.rst_ttl")
                                .with("rst_ttl", u64::from(r.ttl))
                                .with("server_ttl", u64::from(t)),
                        );
                    }
                }
                if let (Some(r), Some(h)) = (e.rst_response_ms, e.handshake_rtt_ms) {
                    if r < h / 2.0 {
                        out.push(
                            Message::new("fact.rst_fast")
                                .with("rst_ms", r)
                                .with("rtt_ms", h),
                        );
                    }
                }
            }
            Evidence::TlsSniReset(e) => {
                if e.rst_ttl != e.server_ttl {
                    out.push(
                        Message::new("fact.rst_ttl")
                            .with("rst_ttl", u64::from(e.rst_ttl))
                            .with("server_ttl", u64::from(e.server_ttl)),
                    );
                }
                if let (true, Some(h)) = (e.faster_than_half_rtt, e.handshake_rtt_ms) {
                    out.push(
                        Message::new("fact.rst_fast")
                            .with("rst_ms", e.rst_delay_ms)
                            .with("rtt_ms", h),
                    );
                }
            }
            Evidence::UdpMediaBlocked(e) => {
                if !e.never_answered {
                    out.push(
                        Message::new("fact.sent_unanswered")
                            .with("sent", e.sent_after_silence)
                            .with("silence_s", e.silence_s),
                    );
                }
                if !e.stun_unanswered_flows.is_empty() {
                    out.push(
                        Message::new("fact.stun_also").with("flows", e.stun_unanswered_flows.len()),
                    );
                }
            }
            Evidence::RtpCut(e) => out.push(
                Message::new("fact.rtp_cut_other").with("packets", e.other_dir_packets_after),
            ),
            Evidence::HandshakeTimeout(e) => out.push(
                Message::new("fact.syns")
                    .with("syns", e.syns)
                    .with("span_s", e.span_s),
            ),
            Evidence::TcpPolicer(e) => {
                out.push(
                    Message::new("fact.policer_losses")
                        .with("losses", e.loss_samples)
                        .with("slices", e.loss_slices),
                );
                out.extend(e.comparison.as_ref().and_then(comparison_fact));
            }
            Evidence::Shaper(e) => out.extend(e.comparison.as_ref().and_then(comparison_fact)),
            _ => {}
        }
        out
    }
}

fn comparison_fact(c: &super::evidence::InCaptureComparison) -> Option<Message> {
    let id = match c.verdict {
        "selective" => "fact.selective",
        "whole_link" => "fact.whole_link",
        _ => return None,
    };
    Some(
        Message::new(id)
            .with("control_bps", c.control_median_bps)
            .with("target_bps", c.target_median_bps),
    )
}

impl super::Limit {
    /// What the cut means as a message: `limit.<id>` with the packets it dropped and the
    /// flows it cut (the English `effect` keeps the detail).
    pub fn message(&self) -> Message {
        let id = TEMPLATES
            .iter()
            .map(|t| t.id)
            .find(|id| id.strip_prefix("limit.") == Some(self.limit))
            .unwrap_or("limit.unknown");
        Message::new(id)
            .with("packets", self.dropped)
            .with("flows", self.flow_count)
    }
}

/// A report's verdicts and findings rendered in one language: what the page shows first.
#[derive(Clone, Debug, Serialize)]
pub struct Localized {
    pub lang: &'static str,
    /// The capture error in plain words (`capture.error_message`), when reading failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub verdicts: Vec<LocalizedVerdict>,
    pub findings: Vec<LocalizedFinding>,
    /// `capture.limits` in plain words, in the same order (the English `effect` where the
    /// table lacks an id).
    pub limits: Vec<String>,
}

/// One verdict in plain words: the status word, the headline, the sentence of the finding
/// that carries it (its index in `lead`), and what else could explain it.
#[derive(Clone, Debug, Serialize)]
pub struct LocalizedVerdict {
    pub status: &'static str,
    pub headline: String,
    pub lead: Option<usize>,
    pub because: Option<String>,
    pub caveat: Option<&'static str>,
}

/// One finding in plain words.
#[derive(Clone, Debug, Serialize)]
pub struct LocalizedFinding {
    pub text: String,
    pub caveat: Option<&'static str>,
    /// The facts that carry it ([`Finding::facts`]).
    pub facts: Vec<String>,
}

/// `r`'s verdicts and findings in `lang` (the English summary where the table lacks an id).
pub fn localize(r: &super::Report, lang: Lang) -> Localized {
    let findings: Vec<LocalizedFinding> = r
        .findings
        .iter()
        .map(|f| LocalizedFinding {
            text: render(&f.message(), lang).unwrap_or_else(|| f.summary.clone()),
            caveat: caveat(f.kind, lang),
            facts: f.facts().iter().filter_map(|m| render(m, lang)).collect(),
        })
        .collect();
    let verdicts = r
        .verdicts
        .iter()
        .map(|v| {
            let lead = lead_finding(&r.findings, v);
            LocalizedVerdict {
                status: word(&format!("status.{}", v.status.as_str()), lang),
                headline: render(&v.message(), lang).unwrap_or_else(|| v.summary.clone()),
                lead,
                because: lead.and_then(|i| findings.get(i)).map(|f| f.text.clone()),
                caveat: lead.and_then(|i| findings.get(i)).and_then(|f| f.caveat),
            }
        })
        .collect();
    Localized {
        lang: lang.as_str(),
        error: r
            .capture
            .error_message
            .as_ref()
            .and_then(|m| render(m, lang)),
        verdicts,
        findings,
        limits: r
            .capture
            .limits
            .iter()
            .map(|l| render(&l.message(), lang).unwrap_or_else(|| l.effect.clone()))
            .collect(),
    }
}

#[cfg(test)]
mod capture_error_tests {
    use super::*;
    use crate::analyzer::{Analyzer, Config};

    fn error_of(bytes: &[u8]) -> Message {
        let mut a = Analyzer::new(Config::default());
        // Byte by byte: the message must not depend on how the input was cut.
        for b in bytes {
            let _ = a.push(std::slice::from_ref(b));
        }
        a.finish()
            .capture
            .error_message
            .expect("an error message for a non-capture")
    }

    #[test]
    fn every_file_kind_has_its_message_in_every_language() {
        for id in crate::capture::file_kind_ids() {
            let t = template(&format!("error.file.{id}"));
            assert!(t.is_some(), "error.file.{id} lacks a template");
            assert_eq!(file_message_id(id), format!("error.file.{id}"));
        }
    }

    #[test]
    fn a_photo_is_named_in_the_readers_language() {
        let m = error_of(&[0xff, 0xd8, 0xff, 0xe0, 0, 0x10, b'J', b'F', b'I', b'F', 0]);
        assert_eq!(m.id, "error.file.jpeg");
        assert!(render(&m, Lang::En)
            .unwrap()
            .contains("JPEG photo, not a packet capture"));
        assert!(render(&m, Lang::Fr).unwrap().contains("photo JPEG"));
        assert!(render(&m, Lang::Ar).unwrap().contains("JPEG"));
    }

    #[test]
    fn each_error_class_gets_its_own_message() {
        assert_eq!(error_of(b"").id, "error.empty");
        assert_eq!(error_of(b"hello, world\n").id, "error.not_a_capture.text");
        let m = error_of(&[0x00, 0x01, 0x02, 0x03, 0x04]);
        assert_eq!(m.id, "error.not_a_capture");
        assert_eq!(
            m.params.get("first_bytes"),
            Some(&Param::from("00 01 02 03"))
        );
        let m = error_of(&[0xfd, b'7', b'z', b'X', b'Z', 0, 1, 2]);
        assert_eq!(m.id, "error.compressed_unsupported");
        assert_eq!(m.params.get("format"), Some(&Param::from("xz")));
        // A pcap cut inside its first record.
        let mut pcap = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
        pcap.extend_from_slice(&[0; 8]);
        pcap.extend_from_slice(&[0xff, 0xff, 0, 0, 1, 0, 0, 0]);
        pcap.extend_from_slice(&[0; 6]);
        let m = error_of(&pcap);
        assert_eq!(m.id, "error.truncated");
        assert_eq!(m.params.get("offset"), Some(&Param::Int(24)));
        let fr = render(&m, Lang::Fr).unwrap();
        assert!(fr.contains("l'octet 24"), "{fr}");
    }

    #[test]
    fn a_clean_capture_has_no_error_message() {
        let mut pcap = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
        pcap.extend_from_slice(&[0; 8]);
        pcap.extend_from_slice(&[0xff, 0xff, 0, 0, 1, 0, 0, 0]);
        let mut a = Analyzer::new(Config::default());
        let _ = a.push(&pcap);
        let r = a.finish();
        assert!(r.capture.error_message.is_none());
        assert!(localize(&r, Lang::Fr).error.is_none());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_exists_in_every_language_with_the_same_parameters() {
        let names = |s: &str| {
            let mut v: Vec<String> = s
                .split('{')
                .skip(1)
                .filter_map(|p| p.split_once('}').map(|(n, _)| n.to_string()))
                .collect();
            v.sort();
            v
        };
        let mut ids = std::collections::BTreeSet::new();
        for t in TEMPLATES {
            assert!(ids.insert(t.id), "{} appears twice", t.id);
            for lang in Lang::ALL {
                assert!(
                    !t.text(lang).trim().is_empty(),
                    "{} lacks {}",
                    t.id,
                    lang.as_str()
                );
                assert_eq!(
                    names(t.text(lang)),
                    names(t.en),
                    "{} in {}: parameters differ",
                    t.id,
                    lang.as_str()
                );
            }
        }
    }

    #[test]
    fn every_finding_kind_has_a_sentence_and_a_caveat() {
        for k in FindingKind::ALL {
            assert!(
                template(&format!("finding.{}", k.as_str())).is_some(),
                "no finding.{}",
                k.as_str()
            );
            for lang in Lang::ALL {
                assert!(
                    caveat(*k, lang).is_some(),
                    "no caveat.{} in {}",
                    k.as_str(),
                    lang.as_str()
                );
            }
        }
        for sev in [
            crate::model::Severity::Info,
            crate::model::Severity::Degraded,
            crate::model::Severity::Throttled,
            crate::model::Severity::Blocked,
        ] {
            assert!(
                template(&format!("severity.{sev}")).is_some(),
                "no severity.{sev}"
            );
        }
        for s in Status::ALL {
            assert!(
                template(&format!("verdict.{}", s.as_str())).is_some(),
                "no verdict.{}",
                s.as_str()
            );
            assert!(
                template(&format!("status.{}", s.as_str())).is_some(),
                "no status.{}",
                s.as_str()
            );
        }
    }

    #[test]
    fn parameters_are_formatted_for_the_language() {
        let m = Message::new("finding.udp_media_blocked")
            .with("silence_s", 8.04)
            .with("sent", 412u64);
        assert_eq!(
            render(&m, Lang::En).unwrap(),
            "Your device kept sending call audio for 8 s, and nothing came back (412 packets sent after the other side went silent)."
        );
        let fr = render(&m, Lang::Fr).unwrap();
        assert!(fr.contains("pendant 8\u{a0}s"), "{fr}");
        let ar = render(&m, Lang::Ar).unwrap();
        assert!(ar.contains("\u{2066}8 ثانية\u{2069}"), "{ar}");
        let r = Message::new("finding.throttling_policer").with("rate_bps", 1_234_567.0);
        assert!(render(&r, Lang::Fr).unwrap().contains("1,2\u{a0}Mbit/s"));
        let v = Message::new("verdict.blocked.call").with("app", "whatsapp");
        assert_eq!(
            render(&v, Lang::En).unwrap(),
            "WhatsApp calls were blocked."
        );
        let o = Message::new("verdict.ok").with("app", "other");
        assert_eq!(render(&o, Lang::Fr).unwrap(), "Autre trafic a fonctionné.");
        assert_eq!(render(&Message::new("no.such.id"), Lang::En), None);
    }

    #[test]
    fn every_limit_has_its_message_and_the_table_headers_exist() {
        for id in super::super::limits::IDS {
            assert!(
                template(&format!("limit.{id}")).is_some(),
                "limit.{id} lacks a template"
            );
        }
        for c in [
            "id", "l4", "client", "server", "packets", "bytes", "duration", "state", "history",
            "what",
        ] {
            assert!(template(&format!("cli.col.{c}")).is_some(), "cli.col.{c}");
        }
        let l = super::super::Limit {
            limit: "packets_per_flow",
            max: 10,
            flow_count: 3,
            flows: vec![1, 2, 3],
            dropped: 7,
            effect: String::new(),
        };
        let fr = render(&l.message(), Lang::Fr).unwrap();
        assert!(fr.contains("3 flux"), "{fr}");
    }

    #[test]
    fn facts_carry_the_lab_findings() {
        let lab = |name: &str| {
            let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../captures")
                .join(name);
            std::fs::read(&p).ok().map(|d| {
                crate::analyzer::analyze_bytes(
                    crate::analyzer::Config {
                        name: name.into(),
                        ..Default::default()
                    },
                    &d,
                )
            })
        };
        let Some(r) = lab("tls_sni_reset.pcap") else {
            eprintln!("captures absent: skipped");
            return;
        };
        let l = localize(&r, Lang::Fr);
        let facts: Vec<&String> = l.findings.iter().flat_map(|f| &f.facts).collect();
        assert!(facts.iter().any(|f| f.contains("TTL")), "{facts:?}");
        // Every fact id used renders in every language.
        for f in &r.findings {
            for m in f.facts() {
                for lang in Lang::ALL {
                    assert!(render(&m, lang).is_some(), "{} in {}", m.id, lang.as_str());
                }
            }
        }
        if let Some(r) = lab("udp_media_blackhole.pcap") {
            let l = localize(&r, Lang::En);
            assert!(
                l.findings
                    .iter()
                    .flat_map(|f| &f.facts)
                    .any(|f| f.contains("packets went out after")),
                "{:?}",
                l.findings
            );
        }
    }

    #[test]
    fn locales_parse() {
        assert_eq!(Lang::parse("fr_FR.UTF-8"), Some(Lang::Fr));
        assert_eq!(Lang::parse("ar-MA"), Some(Lang::Ar));
        assert_eq!(Lang::parse("C.UTF-8"), Some(Lang::En));
        assert_eq!(Lang::parse("de_DE"), None);
    }
}
