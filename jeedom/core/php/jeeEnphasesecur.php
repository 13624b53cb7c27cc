<?php
/* The daemon's callback: ?apikey=<this plugin's key>, JSON body {"declare"|"values"|"status": ...}.
 * Answers {"state": "ok", "result": ...} or {"state": "error", "result": "<why>"}. */
require_once __DIR__ . '/../../../../core/php/core.inc.php';
header('Content-Type: application/json');
if (!jeedom::apiAccess(init('apikey'), 'enphasesecur')) {
	http_response_code(401);
	echo json_encode(array('state' => 'error', 'result' => 'clé API du plugin enphasesecur refusée'));
	die();
}
if (init('test') != '') {
	echo 'OK';
	die();
}
$message = json_decode(file_get_contents('php://input'), true);
try {
	if (!is_array($message)) {
		throw new Exception('le corps doit être un objet JSON');
	}
	$result = array();
	if (isset($message['declare'])) {
		$result['created'] = enphasesecur::declareEquipment($message['declare']);
	}
	if (isset($message['values'])) {
		$result = array_merge($result, enphasesecur::storeValues($message['values']));
	}
	if (isset($message['status'])) {
		$result['config_written'] = enphasesecur::daemonStatus($message['status']);
	}
	echo json_encode(array('state' => 'ok', 'result' => $result));
} catch (Exception $e) {
	log::add('enphasesecur', 'error', 'Callback : ' . $e->getMessage());
	echo json_encode(array('state' => 'error', 'result' => $e->getMessage()));
}
