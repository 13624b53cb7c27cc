<?php
/* The plugin's configuration page: the original plugin's keys (ctoken, user, password, ip, serie, token,
 * typereseau, widget, delais, autoconso, wattsautoconsoNon/off, cmdautoconsoNon/off) and ours. */
require_once __DIR__ . '/../../../core/php/core.inc.php';
include_file('core', 'authentification', 'php');
if (!isConnect()) {
	include_file('desktop', '404', 'php');
	die();
}
function enphasesecur_field($label, $key, $type = 'text', $help = '') {
	echo '<div class="form-group"><label class="col-md-4 control-label">' . $label;
	if ($help != '') {
		echo ' <sup><i class="fas fa-question-circle tooltips" title="' . $help . '"></i></sup>';
	}
	echo '</label><div class="col-md-4"><input type="' . $type . '" class="configKey form-control" data-l1key="' . $key . '"/></div></div>';
}
function enphasesecur_select($label, $key, $options) {
	echo '<div class="form-group"><label class="col-md-4 control-label">' . $label . '</label><div class="col-md-4"><select class="configKey form-control" data-l1key="' . $key . '">';
	foreach ($options as $value => $text) {
		echo '<option value="' . $value . '">' . $text . '</option>';
	}
	echo '</select></div></div>';
}
function enphasesecur_cmd($label, $key) {
	echo '<div class="form-group"><label class="col-md-4 control-label">' . $label . '</label><div class="col-md-4"><div class="input-group">'
		. '<input class="configKey form-control" data-l1key="' . $key . '"/><span class="input-group-btn">'
		. '<a class="btn btn-default enphasesecurPickCmd" data-key="' . $key . '"><i class="fas fa-list-alt"></i></a></span></div></div></div>';
}
?>
<form class="form-horizontal">
	<fieldset>
		<legend><i class="fas fa-solar-panel"></i> {{Passerelle}}</legend>
		<?php
		enphasesecur_select('{{Jeton}}', 'ctoken', array('auto' => '{{Automatique (identifiants Enlighten)}}', 'manu' => '{{Manuel (jeton collé)}}'));
		enphasesecur_field('{{Utilisateur Enlighten}}', 'user');
		enphasesecur_field('{{Mot de passe Enlighten}}', 'password', 'password', '{{Enregistré chiffré}}');
		enphasesecur_field('{{Jeton (mode manuel)}}', 'token', 'password', '{{Enregistré chiffré}}');
		enphasesecur_field('{{Adresse IP de la passerelle}}', 'ip');
		enphasesecur_field('{{Numéro de série}}', 'serie', 'text', '{{Facultatif : lu sur la passerelle}}');
		enphasesecur_select('{{Réseau}}', 'typereseau', array('auto' => '{{Détection automatique}}', 'mono' => '{{Monophasé}}', 'tri' => '{{Triphasé}}'));
		enphasesecur_select('{{Équipements}}', 'widget', array('1' => '{{Un seul équipement}}', '3' => '{{Production, consommations et batterie séparées}}'));
		enphasesecur_field('{{Rafraîchissement (s, au moins 1)}}', 'delais', 'number');
		?>
		<div class="alert alert-warning">{{Changer la disposition des équipements supprime ceux de l'autre disposition, avec leur historique.}}</div>
		<legend><i class="fas fa-bolt"></i> {{Autoconsommation}}</legend>
		<?php
		enphasesecur_select('{{Autoconsommation}}', 'autoconso', array('non' => '{{Non}}', 'oui' => '{{Oui}}'));
		for ($n = 1; $n <= 4; $n++) {
			echo '<div class="col-md-12"><strong>{{Palier}} ' . $n . '</strong></div>';
			enphasesecur_field('{{Surplus pour allumer (W)}}', 'wattsautoconso' . $n . 'on', 'number');
			enphasesecur_field('{{Surplus sous lequel éteindre (W)}}', 'wattsautoconso' . $n . 'off', 'number');
			enphasesecur_cmd('{{Commande marche}}', 'cmdautoconso' . $n . 'on');
			enphasesecur_cmd('{{Commande arrêt}}', 'cmdautoconso' . $n . 'off');
			enphasesecur_field('{{Délai avant marche (s)}}', 'delaiautoconso' . $n . 'on', 'number');
			enphasesecur_field('{{Délai avant arrêt (s)}}', 'delaiautoconso' . $n . 'off', 'number');
			enphasesecur_field('{{Marche minimale (s)}}', 'minautoconso' . $n . 'on', 'number');
			enphasesecur_field('{{Arrêt minimal (s)}}', 'minautoconso' . $n . 'off', 'number');
			enphasesecur_field('{{Priorité}}', 'prioriteautoconso' . $n, 'number');
			enphasesecur_field('{{Charge batterie minimale (%)}}', 'socautoconso' . $n, 'number');
		}
		?>
		<legend><i class="fas fa-cogs"></i> {{Démon}}</legend>
		<?php
		enphasesecur_select('{{Démon}}', 'daemonmode', array('local' => '{{Sur cette machine}}', 'remote' => '{{Sur une autre machine (distant)}}'));
		enphasesecur_field('{{Port du démon (local)}}', 'socketport', 'number');
		enphasesecur_field('{{Adresse du démon distant}}', 'daemonurl', 'text', '{{ex. http://192.168.1.20:8080}}');
		?>
	</fieldset>
</form>
<script>
document.querySelectorAll('.enphasesecurPickCmd').forEach(function(button) {
	button.addEventListener('click', function() {
		var input = document.querySelector('.configKey[data-l1key="' + button.dataset.key + '"]');
		jeedom.cmd.getSelectModal({cmd: {type: 'action'}}, function(result) {
			input.value = '#' + result.cmd.id + '#';
		});
	});
});
</script>
