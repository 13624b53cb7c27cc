<?php
/* Enphase Secure: thin glue between Jeedom and the Python daemon (enphase-secure run --jeedom).
 * The daemon maps this plugin's config to its own (src/enphase_secure/jeedom/plugin_config.py), says
 * which equipment and commands to create (from its figures table) and posts the values. */
require_once __DIR__ . '/../../../../core/php/core.inc.php';

class enphasesecur extends eqLogic {
	public static $_encryptConfigKey = array('user', 'password', 'token');
	const DEFAULT_PORT = 55061;
	const STATUS_CACHE = 'enphasesecur::status';

	public static function socketPort() {
		return (int) config::byKey('socketport', __CLASS__, self::DEFAULT_PORT);
	}

	public static function isRemote() {
		return config::byKey('daemonmode', __CLASS__, 'local') == 'remote';
	}

	public static function daemonUrl() {
		if (self::isRemote()) {
			return rtrim(config::byKey('daemonurl', __CLASS__, ''), '/');
		}
		return 'http://127.0.0.1:' . self::socketPort();
	}

	private static function pidFile() {
		return jeedom::getTmpFolder(__CLASS__) . '/deamon.pid';
	}

	public static function configFile() {
		$dir = __DIR__ . '/../../data';
		if (!is_dir($dir)) {
			mkdir($dir, 0700, true);
		}
		return realpath($dir) . '/daemon.json';
	}

	private static function venv() {
		return realpath(__DIR__ . '/../../resources') . '/python_venv';
	}

	/* The plugin's secrets were stored in plain text by the original plugin: saving them again encrypts them. */
	public static function encryptSecrets() {
		foreach (self::$_encryptConfigKey as $key) {
			$value = config::byKey($key, __CLASS__, '');
			if ($value != '') {
				config::save($key, $value, __CLASS__);
			}
		}
	}

	/* The project's own package is not on PyPI: the venv finds it in this plugin's files (a .pth). */
	public static function linkPackage() {
		$src = realpath(__DIR__ . '/../../resources/enphase-secure/src');
		$sites = glob(self::venv() . '/lib/python3*/site-packages');
		if ($src === false || !is_array($sites) || count($sites) == 0) {
			return false;
		}
		file_put_contents($sites[0] . '/enphase_secure_plugin.pth', $src . "\n");
		return true;
	}

	public static function dependancy_end() {
		self::linkPackage();
	}

	public static function additionnalDependancyCheck() {
		$python = self::venv() . '/bin/python3';
		if (!file_exists($python) || !self::linkPackage()) {
			return array('state' => 'nok');
		}
		exec(escapeshellarg($python) . ' -c "import enphase_secure.cli" 2>&1', $output, $code);
		return array('state' => $code == 0 ? 'ok' : 'nok');
	}

	/* The config file the daemon reads (and reloads when it changes): 0600, never on a command line. */
	public static function writeDaemonConfig() {
		if (self::isRemote()) {
			return false;
		}
		$plugin = array();
		foreach (config::searchKey('', __CLASS__) as $row) {
			$plugin[$row['key']] = $row['value'];
		}
		$document = array(
			'plugin' => $plugin,
			'jeedom' => array(
				'url' => network::getNetworkAccess('internal', 'http:127.0.0.1:port:comp'),
				'apikey' => jeedom::getApiKey(__CLASS__),
			),
			'daemon' => array(
				'listen' => '127.0.0.1:' . self::socketPort(),
				'state_dir' => dirname(self::configFile()),
				'timezone' => config::byKey('timezone', 'core', 'Europe/Brussels'),
			),
		);
		$json = json_encode($document, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE);
		$file = self::configFile();
		chmod(dirname($file), 0700);
		if (file_exists($file) && file_get_contents($file) === $json) {
			chmod($file, 0600);
			return false;
		}
		$tmp = $file . '.tmp';
		file_put_contents($tmp, '');
		chmod($tmp, 0600);
		file_put_contents($tmp, $json);
		rename($tmp, $file);
		return true;
	}

	public static function deamon_info() {
		$return = array('log' => __CLASS__ . '_daemon', 'state' => 'nok', 'launchable' => 'ok');
		$status = cache::byKey(self::STATUS_CACHE)->getValue(array());
		if (self::isRemote()) {
			$seen = is_array($status) && isset($status['time']) && time() - $status['time'] < 30;
			$return['state'] = $seen ? 'ok' : 'nok';
			$return['launchable'] = 'nok';
			$return['launchable_message'] = __('Démon distant : il tourne sur une autre machine', __FILE__);
			return $return;
		}
		$pid_file = self::pidFile();
		if (file_exists($pid_file)) {
			if (posix_getsid((int) trim(file_get_contents($pid_file)))) {
				$return['state'] = 'ok';
			} else {
				unlink($pid_file);
			}
		}
		if (!file_exists(self::venv() . '/bin/python3')) {
			$return['launchable'] = 'nok';
			$return['launchable_message'] = __('Installez les dépendances', __FILE__);
		} elseif (trim(config::byKey('ip', __CLASS__, '')) == '') {
			$return['launchable'] = 'nok';
			$return['launchable_message'] = __('Renseignez l\'adresse IP de la passerelle', __FILE__);
		} elseif ($return['state'] == 'ok' && is_array($status) && isset($status['state']) && $status['state'] == 'error') {
			$return['launchable_message'] = $status['message'];
		}
		return $return;
	}

	public static function deamon_start() {
		self::deamon_stop();
		$info = self::deamon_info();
		if ($info['launchable'] != 'ok') {
			throw new Exception(__('Démon non démarrable :', __FILE__) . ' ' . $info['launchable_message']);
		}
		self::linkPackage();
		self::writeDaemonConfig();
		cache::delete(self::STATUS_CACHE);
		$cmd = system::getCmdPython3(__CLASS__) . '-m enphase_secure run';
		$cmd .= ' --jeedom ' . escapeshellarg(self::configFile());
		$cmd .= ' --loglevel ' . log::convertLogLevel(log::getLogLevel(__CLASS__));
		$cmd .= ' --socketport ' . self::socketPort();
		$cmd .= ' --callback ' . escapeshellarg(network::getNetworkAccess('internal', 'http:127.0.0.1:port:comp') . '/plugins/enphasesecur/core/php/jeeEnphasesecur.php');
		$cmd .= ' --pid ' . escapeshellarg(self::pidFile());
		log::add(__CLASS__, 'info', 'Lancement du démon : ' . $cmd);
		exec($cmd . ' >> ' . log::getPathToLog(__CLASS__ . '_daemon') . ' 2>&1 &');
		for ($i = 0; $i < 30; $i++) {
			if (self::deamon_info()['state'] == 'ok') {
				return true;
			}
			usleep(500000);
		}
		log::add(__CLASS__, 'error', __('Le démon ne démarre pas, voir le log enphasesecur_daemon', __FILE__));
		return false;
	}

	public static function deamon_stop() {
		$pid_file = self::pidFile();
		if (!file_exists($pid_file)) {
			return;
		}
		$pid = (int) trim(file_get_contents($pid_file));
		if ($pid > 1) {
			posix_kill($pid, 15);
			$tries = 50;
			while ($tries-- > 0 && posix_getsid($pid)) {
				usleep(100000);
			}
			if (posix_getsid($pid)) {
				posix_kill($pid, 9);
			}
		}
		if (file_exists($pid_file)) {
			unlink($pid_file);
		}
	}

	/* The daemon's "status" heartbeat: shown in the daemon view; answered by rewriting its config. */
	public static function daemonStatus($status) {
		$previous = cache::byKey(self::STATUS_CACHE)->getValue(array());
		$status['time'] = time();
		cache::set(self::STATUS_CACHE, $status);
		$message = isset($status['message']) ? $status['message'] : '';
		$before = is_array($previous) && isset($previous['message']) ? $previous['message'] : '';
		if ($message != $before && $message != '') {
			log::add(__CLASS__, 'error', $message . (isset($status['detail']) ? ' (' . $status['detail'] . ')' : ''));
			message::add(__CLASS__, $message);
		}
		return self::writeDaemonConfig();
	}

	/* "declare": equipment and commands by logicalId; existing ones keep their id, name and settings. */
	public static function declareEquipment($declare) {
		foreach ($declare['remove'] as $logicalId) {
			$eqLogic = eqLogic::byLogicalId($logicalId, __CLASS__);
			if (is_object($eqLogic)) {
				log::add(__CLASS__, 'warning', 'Changement de disposition : suppression de l\'équipement ' . $eqLogic->getHumanName());
				$eqLogic->remove();
			}
		}
		$created = 0;
		foreach ($declare['equipment'] as $def) {
			$eqLogic = eqLogic::byLogicalId($def['logicalId'], __CLASS__);
			if (!is_object($eqLogic)) {
				$eqLogic = new enphasesecur();
				$eqLogic->setEqType_name(__CLASS__);
				$eqLogic->setLogicalId($def['logicalId']);
				$eqLogic->setName($def['name']);
				$eqLogic->setIsEnable(1);
				$eqLogic->setIsVisible(1);
				$eqLogic->save();
				$created++;
			}
			$order = 0;
			foreach ($def['commands'] as $c) {
				$cmd = $eqLogic->getCmd(null, $c['logicalId']);
				if (!is_object($cmd)) {
					$cmd = new enphasesecurCmd();
					$cmd->setEqLogic_id($eqLogic->getId());
					$cmd->setLogicalId($c['logicalId']);
					$cmd->setName($c['name']);
					$cmd->setIsVisible(1);
					$cmd->setIsHistorized($c['isHistorized']);
					$cmd->setOrder($order);
				}
				$cmd->setType($c['type']);
				$cmd->setSubType($c['subType']);
				$cmd->setUnite($c['unite']);
				$cmd->setGeneric_type($c['generic_type']);
				if (isset($c['stage'])) {
					$cmd->setConfiguration('stage', $c['stage']);
					$cmd->setConfiguration('mode', $c['mode']);
				}
				try {
					$cmd->save();
				} catch (Exception $e) {
					log::add(__CLASS__, 'error', 'Commande ' . $c['logicalId'] . ' non créée : ' . $e->getMessage());
				}
				$order++;
			}
		}
		return $created;
	}

	/* "values": by equipment then command logicalId; null = unknown now (shown empty, never 0).
	 * Equipment that no longer exists (removed by the user) is answered as missing: the daemon declares again. */
	public static function storeValues($values) {
		$stored = 0;
		$missing = array();
		foreach ($values as $eqLogicalId => $commands) {
			$eqLogic = eqLogic::byLogicalId((string) $eqLogicalId, __CLASS__);
			if (!is_object($eqLogic)) {
				$missing[] = (string) $eqLogicalId;
				continue;
			}
			if ($eqLogic->getIsEnable() == 0) {
				continue;
			}
			foreach ($commands as $logicalId => $value) {
				$cmd = $eqLogic->getCmd('info', (string) $logicalId);
				if (!is_object($cmd)) {
					continue;
				}
				if ($value === null) {
					$now = date('Y-m-d H:i:s');
					$cmd->setCache(array('value' => '', 'valueDate' => $now, 'collectDate' => $now));
					event::add('cmd::update', array('cmd_id' => $cmd->getId(), 'value' => '', 'display_value' => '', 'valueDate' => $now, 'collectDate' => $now));
				} else {
					$cmd->event($value);
				}
				$stored++;
			}
		}
		return array('stored' => $stored, 'missing' => $missing);
	}
}

class enphasesecurCmd extends cmd {
	/* The manual on/off/auto actions of a self-consumption stage: the daemon's API does it. */
	public function execute($_options = array()) {
		$stage = $this->getConfiguration('stage', '');
		if ($this->getType() != 'action' || $stage == '') {
			return;
		}
		$url = enphasesecur::daemonUrl() . '/api/control/' . rawurlencode($stage);
		$request = new com_http($url);
		$request->setHeader(array('Content-Type: application/json', 'Authorization: Bearer ' . jeedom::getApiKey('enphasesecur')));
		$request->setPost(json_encode(array('mode' => $this->getConfiguration('mode'))));
		$answer = $request->exec(10, 1);
		$decoded = json_decode($answer, true);
		if (!is_array($decoded) || isset($decoded['error'])) {
			throw new Exception('Démon Enphase : ' . (is_array($decoded) ? $decoded['error'] : $answer));
		}
	}
}
